/*
 * tokenhelper.c -- the internal and external token helpers.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenhelper.h"
#include "util.h"

static int	 helper_path(char **, char **);
static int	 external(const char *, const char *, const char *, char **,
		    char **);
static char	*home_file(const char *);

static char *
home_file(const char *name)
{
	struct sbuf	 b = { 0 };
	const char	*home = getenv("HOME");

	sbuf_printf(&b, "%s/%s", home != NULL ? home : "", name);
	return sbuf_take(&b);
}

/*
 * The CLI config file: only token_helper = "<path>" is allowed.  A
 * missing file means the internal helper (*path NULL).
 */
static int
helper_path(char **path, char **err)
{
	struct sbuf	 b = { 0 }, e = { 0 };
	const char	*cfg = getenv("VAULT_CONFIG_PATH");
	char		*file, *line, *save = NULL, *eq, *k, *v;
	int		 rc = -1;

	*path = NULL;
	file = (cfg != NULL && *cfg != '\0') ? xstrdup(cfg) :
	    home_file(".vault");
	if (read_file(file, &b) == -1) {
		if (errno == ENOENT) {
			rc = 0;
			goto out;
		}
		sbuf_printf(&e, "failed to get token helper: error opening "
		    "config file at \"%s\": %s", file, strerror(errno));
		goto fail;
	}
	for (line = strtok_r(b.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0' || *line == '#' || strncmp(line, "//", 2) == 0)
			continue;
		if ((eq = strchr(line, '=')) == NULL)
			goto bad;
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		if (strcmp(k, "token_helper") != 0)
			goto bad;
		if (v[0] != '"' || strlen(v) < 2 || v[strlen(v) - 1] != '"')
			goto bad;
		v[strlen(v) - 1] = '\0';
		free(*path);
		*path = xstrdup(v + 1);
	}
	rc = 0;
	goto out;
 bad:
	sbuf_printf(&e, "failed to get token helper: error parsing config "
	    "file at \"%s\": invalid key or syntax; only token_helper = "
	    "\"<path>\" is allowed", file);
 fail:
	free(*path);
	*path = NULL;
	*err = sbuf_take(&e);
 out:
	sbuf_free(&b);
	sbuf_free(&e);
	free(file);
	return rc;
}

static int
external(const char *path, const char *op, const char *in, char **out,
    char **err)
{
	struct sbuf	 cmd = { 0 }, o = { 0 };
	const char	*sh = getenv("SHELL");
	char		 cwd[PATH_MAX];
	int		 inp[2] = { -1, -1 }, outp[2] = { -1, -1 };
	int		 st, rc = -1;
	pid_t		 pid;

	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			goto unknown;
		sbuf_printf(&cmd, "%s/", cwd);
	}
	sbuf_puts(&cmd, path);
	if (access(sbuf_str(&cmd), F_OK) == -1)
		goto unknown;
	sbuf_printf(&cmd, " %s", op);
	if (pipe(inp) == -1 || pipe(outp) == -1)
		goto unknown;
	if ((pid = fork()) == -1)
		goto unknown;
	if (pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(inp[1]);
		close(outp[0]);
		execl(sh != NULL && *sh != '\0' ? sh : "/bin/sh", "sh", "-c",
		    sbuf_str(&cmd), (char *)NULL);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	inp[0] = outp[1] = -1;
	if (in != NULL && write(inp[1], in, strlen(in)) == -1)
		(void)0;
	close(inp[1]);
	inp[1] = -1;
	(void)read_all_fd(outp[0], &o);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		struct sbuf e = { 0 };

		sbuf_printf(&e, "\"%s\": exit status %d", sbuf_str(&o),
		    WIFEXITED(st) ? WEXITSTATUS(st) : 1);
		*err = sbuf_take(&e);
		goto out;
	}
	if (out != NULL)
		*out = sbuf_take(&o);
	rc = 0;
	goto out;
 unknown:
	*err = xstrdup("unknown error getting the external helper path");
 out:
	if (inp[0] != -1)
		close(inp[0]);
	if (inp[1] != -1)
		close(inp[1]);
	if (outp[0] != -1)
		close(outp[0]);
	if (outp[1] != -1)
		close(outp[1]);
	sbuf_free(&cmd);
	sbuf_free(&o);
	return rc;
}

int
tokenhelper_get(char **tok, char **err)
{
	struct sbuf	 b = { 0 }, e = { 0 };
	char		*path = NULL, *file = NULL, *out = NULL, *xerr = NULL;
	size_t		 n;
	int		 rc = -1;

	*tok = NULL;
	if (helper_path(&path, err) == -1)
		return -1;
	if (path != NULL) {
		if (external(path, "get", NULL, &out, &xerr) == -1) {
			sbuf_printf(&e, "failed to get token from token "
			    "helper: %s", xerr);
			*err = sbuf_take(&e);
			goto out;
		}
		/* vault keeps the newline; coffer strips it (harmless). */
		n = strlen(out);
		while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
		*tok = out;
		out = NULL;
		rc = 0;
		goto out;
	}
	file = home_file(".vault-token");
	if (read_file(file, &b) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else {
			sbuf_printf(&e, "failed to get token from token "
			    "helper: %s", strerror(errno));
			*err = sbuf_take(&e);
		}
		goto out;
	}
	*tok = xstrdup(trim(b.p));
	rc = 0;
 out:
	sbuf_free(&b);
	free(path);
	free(file);
	wipefree(out);
	free(xerr);
	return rc;
}

int
tokenhelper_store(const char *tok, char **err)
{
	struct sbuf	 e = { 0 };
	char		*path = NULL, *file = NULL, *tmp = NULL, *xerr = NULL;
	size_t		 len = strlen(tok);
	ssize_t		 n;
	int		 fd = -1, rc = -1;

	if (helper_path(&path, err) == -1)
		return -1;
	if (path != NULL) {
		if (external(path, "store", tok, NULL, &xerr) == -1) {
			*err = xerr;
			xerr = NULL;
			goto out;
		}
		rc = 0;
		goto out;
	}
	file = home_file(".vault-token");
	tmp = home_file(".vault-token.tmp");
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || fchmod(fd, 0600) == -1)
		goto syserr;
	for (n = 0; (size_t)n < len; ) {
		ssize_t w = write(fd, tok + n, len - n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto syserr;
		n += w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto syserr;
	}
	fd = -1;
	if (rename(tmp, file) == -1)
		goto syserr;
	rc = 0;
	goto out;
 syserr:
	sbuf_printf(&e, "%s: %s", tmp, strerror(errno));
	*err = sbuf_take(&e);
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
 out:
	free(path);
	free(file);
	free(tmp);
	free(xerr);
	return rc;
}
