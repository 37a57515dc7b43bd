/*
 * err.c -- names, texts and HTTP statuses of the cf_err codes.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "err.h"

const char *
cf_strerror(int err)
{
	switch (err) {
	case CF_OK:		return "ok";
	case CF_EINVAL:		return "invalid request";
	case CF_ENOTFOUND:	return "not found";
	case CF_EDENIED:	return "permission denied";
	case CF_EMETHOD:	return "unsupported operation";
	case CF_ETOOBIG:	return "http: request body too large";
	case CF_ESEALED:	return "Vault is sealed";
	case CF_ESTANDBY:	return "node is not active";
	case CF_ECONFLICT:	return "check-and-set parameter did not match";
	case CF_EUPSTREAM:	return "error forwarding request";
	case CF_EUNAVAIL:	return "service unavailable";
	default:		return "internal error";
	}
}

const char *
cf_errname(int err)
{
	switch (err) {
	case CF_OK:		return "CF_OK";
	case CF_EINVAL:		return "CF_EINVAL";
	case CF_ENOTFOUND:	return "CF_ENOTFOUND";
	case CF_EDENIED:	return "CF_EDENIED";
	case CF_EMETHOD:	return "CF_EMETHOD";
	case CF_ETOOBIG:	return "CF_ETOOBIG";
	case CF_ESEALED:	return "CF_ESEALED";
	case CF_ESTANDBY:	return "CF_ESTANDBY";
	case CF_ECONFLICT:	return "CF_ECONFLICT";
	case CF_EUPSTREAM:	return "CF_EUPSTREAM";
	case CF_ENOTSUP:	return "CF_ENOTSUP";
	case CF_EIO:		return "CF_EIO";
	case CF_ENOMEM:		return "CF_ENOMEM";
	case CF_EINTERNAL:	return "CF_EINTERNAL";
	case CF_EUNAVAIL:	return "CF_EUNAVAIL";
	default:		return "CF_E?";
	}
}

int
cf_status(int err)
{
	switch (err) {
	case CF_OK:		return 200;
	case CF_EINVAL:
	case CF_ECONFLICT:	return 400;
	case CF_EDENIED:	return 403;
	case CF_ENOTFOUND:	return 404;
	case CF_EMETHOD:	return 405;
	case CF_ETOOBIG:	return 413;
	case CF_EUPSTREAM:	return 502;
	case CF_ESEALED:
	case CF_ESTANDBY:
	case CF_EUNAVAIL:	return 503;
	default:		return 500;
	}
}

void
cf_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "cofferd: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}
