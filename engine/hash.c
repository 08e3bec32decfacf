/* hash: see hash.h. Files are read in 64 KiB blocks through EVP. */
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* 65536: a few pages, big enough that read(2) calls do not dominate */
#define HASH_BLOCK 65536

void hash_bytes(const void *data, size_t n, struct hash *out)
{
	unsigned int len = HASH_LEN;

	EVP_Digest(data, n, out->b, &len, EVP_sha256(), NULL);
}

void hash_str(const char *s, struct hash *out)
{
	hash_bytes(s, strlen(s), out);
}

int hash_file_size(const char *path, struct hash *out, uint64_t *size,
		   struct err *err)
{
	static __thread unsigned char buf[HASH_BLOCK];
	EVP_MD_CTX *md;
	uint64_t total = 0;
	unsigned int len = HASH_LEN;
	int fd, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_set(err, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, ERR_IO, "cannot read '%s': %s", path,
				strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += (uint64_t)n;
	}
	EVP_DigestFinal_ex(md, out->b, &len);
	if (size)
		*size = total;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return rc;
}

int hash_file(const char *path, struct hash *out, struct err *err)
{
	return hash_file_size(path, out, NULL, err);
}

void hash_to_hex(const struct hash *h, char out[HASH_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < HASH_LEN; i++) {
		out[2 * i] = digits[h->b[i] >> 4];
		out[2 * i + 1] = digits[h->b[i] & 15];
	}
	out[2 * HASH_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hash_from_hex(const char *s, struct hash *out)
{
	int i, hi, lo;

	for (i = 0; i < HASH_LEN; i++) {
		hi = hexval(s[2 * i]);
		lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out->b[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[2 * HASH_LEN] == '\0' ? 0 : -1;
}

int hash_is_hex(const char *s)
{
	struct hash h;

	return hash_from_hex(s, &h) == 0;
}
