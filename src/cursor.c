/*
 * cursor.c: page cursors that clients can hold but neither read nor forge.
 *
 * A cursor is base64url(version || nonce || XChaCha20-Poly1305(payload)),
 * keyed by a subkey of the server secret, with the query's identity as
 * associated data: a cursor that was altered, made with an unknown key, or
 * made for another query fails authentication and is rejected (MS400).
 * Cursors sealed under the previous server secret still open, so a secret
 * rotation does not break pagination in flight.
 */
#include "postgres.h"

#include <sodium.h>

#include "apikeys.h"
#include "cursor.h"
#include "errors.h"

#define CURSOR_VERSION 1
#define CURSOR_PURPOSE "metastore search cursor v1"

/* The cursor key derived from the current (or previous) server secret. */
static bool
cursor_key(bool previous, unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
	return ms_server_subkey(previous, CURSOR_PURPOSE, key,
							crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
}

/* Reject a cursor, saying what to do. */
static void
pg_attribute_noreturn()
bad_cursor(const char *why)
{
	ereport(ERROR,
			(errcode(MS_ERRCODE_BAD_CURSOR),
			 errmsg("invalid search cursor"),
			 errdetail("%s", why),
			 errhint("Pass next_cursor back unchanged with the same namespace, filter and sort, or start again without a cursor.")));
	pg_unreachable();
}

/* Seal payload for the query identified by ad; returns the cursor text. */
char *
ms_cursor_seal(const char *payload, const unsigned char *ad, size_t adlen)
{
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	size_t		plen = strlen(payload);
	size_t		blen = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plen +
		crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *box = palloc(blen);
	unsigned long long clen;
	size_t		olen = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char	   *out = palloc(olen);

	cursor_key(false, key);
	box[0] = CURSOR_VERSION;
	randombytes_buf(box + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
											   &clen, (const unsigned char *) payload, plen,
											   ad, adlen, NULL, box + 1, key);
	sodium_memzero(key, sizeof(key));
	sodium_bin2base64(out, olen, box, blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* Open a cursor made by ms_cursor_seal for the same ad; MS400 otherwise. */
char *
ms_cursor_open(const char *cursor, const unsigned char *ad, size_t adlen)
{
	size_t		clen = strlen(cursor);
	size_t		blen;
	unsigned char *box;
	unsigned char *plain;
	unsigned long long plen;
	size_t		hdr = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

	if (clen > MS_CURSOR_MAX_BYTES)
		bad_cursor("The cursor is longer than any this server issues.");
	box = palloc(clen + 1);
	if (sodium_base642bin(box, clen, cursor, clen, NULL, &blen, NULL,
						  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		bad_cursor("The cursor is not one this server issued.");
	if (blen < hdr + crypto_aead_xchacha20poly1305_ietf_ABYTES || box[0] != CURSOR_VERSION)
		bad_cursor("The cursor is not one this server issued.");
	plain = palloc(blen - hdr + 1);
	for (int previous = 0; previous <= 1; previous++)
	{
		unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
		int			rc;

		if (!cursor_key(previous == 1, key))
			break;
		rc = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, box + hdr, blen - hdr,
														ad, adlen, box + 1, key);
		sodium_memzero(key, sizeof(key));
		if (rc == 0)
		{
			plain[plen] = '\0';
			return (char *) plain;
		}
	}
	bad_cursor("The cursor was altered, was not issued by this server, or was issued for another query.");
	return NULL;				/* keep compiler quiet */
}
