/*
 * uuid4.c -- random UUIDs (version 4) as text.
 */
#include "config.h"

#include <stddef.h>

#include <sodium.h>

#include "uuid4.h"

void
uuid4_format(unsigned char u[16], char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex[u[i] >> 4];
		*out++ = hex[u[i] & 0x0f];
	}
	*out = '\0';
}

void
uuid4_random(char *out)
{
	unsigned char	 u[16];

	randombytes_buf(u, sizeof(u));
	uuid4_format(u, out);
}
