/*
 * fuzz_hcl.c -- libFuzzer target for the HCL and JSON parser
 * (util/hcl.c).
 *
 * Any input must parse or fail cleanly: on success the tree is
 * well-formed (every node a known type with a line inside the text,
 * strings and numbers with text, object members with names, list items
 * without), on failure *out is NULL and the message names the line.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hcl.h"

#include "fuzz_driver.h"

/* Check n and its siblings, inside a parent of type parent. */
static void
check_tree(const struct hcl_node *n, enum hcl_type parent, int lines,
    int depth)
{
	if (depth > 1000)
		abort();
	for (; n != NULL; n = n->next) {
		if (n->line < 1 || n->line > lines)
			abort();
		if ((parent == HCL_OBJECT) != (n->key != NULL))
			abort();
		if (hcl_type_name(n->type) == NULL)
			abort();
		switch (n->type) {
		case HCL_STRING:
		case HCL_NUMBER:
			if (n->str == NULL || n->child != NULL)
				abort();
			if (n->type == HCL_NUMBER && n->str[0] == '\0')
				abort();
			break;
		case HCL_BOOL:
			if (n->boolean != 0 && n->boolean != 1)
				abort();
			/* FALLTHROUGH */
		case HCL_NULL:
			if (n->child != NULL)
				abort();
			break;
		case HCL_LIST:
		case HCL_OBJECT:
			check_tree(n->child, n->type, lines, depth + 1);
			break;
		default:
			abort();
		}
		/* The first member of that name is what hcl_get finds. */
		if (parent == HCL_OBJECT && n->key[0] != '\0')
			(void)hcl_get(n, n->key);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hcl_node	*root = (struct hcl_node *)1;
	struct buf	 err = BUF_INIT;
	size_t		 i;
	int		 rc, lines = 1;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	rc = hcl_parse((const char *)data, size, "fuzz", &root, &err);
	if (rc == CF_OK) {
		if (root == NULL || root->type != HCL_OBJECT ||
		    root->key != NULL || root->next != NULL)
			abort();
		check_tree(root->child, HCL_OBJECT, lines, 0);
		hcl_free(root);
	} else {
		if (rc != CF_EINVAL || root != NULL || err.data == NULL ||
		    strncmp(err.data, "fuzz:", 5) != 0)
			abort();
	}
	buf_free(&err);
	return 0;
}
