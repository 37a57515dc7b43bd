/*
 * prompt.c -- hidden terminal input for unseal keys, tokens, passwords.
 *
 * Echo is turned off on standard input itself (vault's password
 * package reads fd 0), and restored on every path, including ^C.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"
#include "util.h"

int
prompt_hidden(FILE *fp, const char *prompt, char **out, const char **why)
{
	struct termios	 old, raw;
	struct sbuf	 b = { 0 };
	char		 ch;
	ssize_t		 n;
	int		 rc = -1;

	if (!isatty(STDIN_FILENO)) {
		*why = "file descriptor 0 is not a terminal";
		return -1;
	}
	if (tcgetattr(STDIN_FILENO, &old) == -1) {
		*why = strerror(errno);
		return -1;
	}
	fputs(prompt, fp);
	fflush(fp);
	raw = old;
	raw.c_lflag &= ~(ECHO | ICANON);
	raw.c_lflag |= ISIG;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == -1) {
		*why = strerror(errno);
		return -1;
	}
	sbuf_add(&b, "", 0);
	for (;;) {
		n = read(STDIN_FILENO, &ch, 1);
		if (n == -1 && errno == EINTR) {
			*why = "interrupted";
			goto out;
		}
		if (n <= 0 || ch == '\n' || ch == '\r')
			break;
		if (ch == 0x7f || ch == '\b') {
			if (b.len > 0)
				b.p[--b.len] = '\0';
			continue;
		}
		sbuf_add(&b, &ch, 1);
	}
	*out = sbuf_take(&b);
	rc = 0;
 out:
	ch = 0;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', fp);
	fflush(fp);
	sbuf_free(&b);
	return rc;
}
