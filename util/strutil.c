/*
 * strutil.c -- small helpers on NUL-terminated strings.
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>

#include "strutil.h"

char *
strutil_lower(char *s)
{
	char	*c;

	if (s == NULL)
		return NULL;
	for (c = s; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return s;
}
