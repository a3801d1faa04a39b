/*
 * apikeys.c: API keys and authenticate().
 *
 * A key looks like ms_<12 hex>_<43 base64url>: a recognisable "ms_" prefix
 * (so scanners can find leaked keys), a non-secret lookup id, and 256 random
 * bits.  Only the lookup prefix and a keyed BLAKE2b-256 hash of the whole key
 * are stored.  The hash key is derived from the server secret, a file named
 * by metastore.server_secret_file that lives outside the database (never in
 * $PGDATA, never group/world readable) and is never exposed to SQL.  Each
 * stored hash remembers which secret made it (a fingerprint), so an old
 * secret can stay configured as metastore.previous_server_secret_file while
 * keys are rotated.
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "access.h"
#include "apikeys.h"
#include "cache.h"
#include "errors.h"
#include "metastore.h"
#include "principal.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(create_api_key);
PG_FUNCTION_INFO_V1(revoke_api_key);
PG_FUNCTION_INFO_V1(list_api_keys);
PG_FUNCTION_INFO_V1(authenticate);

#define KEY_ID_HEX		12			/* lookup id: 6 random bytes */
#define KEY_PREFIX_LEN	(3 + KEY_ID_HEX)	/* "ms_" + id */
#define KEY_SECRET_BYTES 32
#define KEY_SECRET_B64	43			/* base64url, no padding */
#define KEY_LEN			(KEY_PREFIX_LEN + 1 + KEY_SECRET_B64)
#define SECRET_MIN_BYTES 32
#define SECRET_MAX_BYTES 4096
#define HASH_BYTES		32

char	   *ms_server_secret_file = NULL;
char	   *ms_previous_server_secret_file = NULL;

/* A loaded server secret: the derived hashing key and its fingerprint. */
typedef struct ServerSecret
{
	bool		loaded;
	unsigned char key[crypto_generichash_KEYBYTES];
	char		id[17];
} ServerSecret;

static ServerSecret current_secret;
static ServerSecret previous_secret;

/*
 * Key rows seen by this backend, by prefix, so that a hot authentication
 * reads no table: still verified by hashing every time, reset through
 * cache.c whenever metastore.api_keys changes (a revocation elsewhere takes
 * effect at this backend's next transaction).  Bounded: starts over when full.
 */
typedef struct CachedKey
{
	char		prefix[KEY_PREFIX_LEN + 1];
	char	   *principal;
	unsigned char hash[HASH_BYTES];
	char		secret_id[17];
	bool		has_expiry;
	TimestampTz expires_at;
	bool		revoked;
} CachedKey;

#define MAX_CACHED_KEYS 256
static CachedKey *key_cache = NULL;	/* in TopMemoryContext */
static MemoryContext key_cxt = NULL;	/* the cached principal names */
static int	n_cached_keys = 0;
static bool key_watch_set = false;

static SPIPlanPtr plan_insert = NULL;
static SPIPlanPtr plan_lookup = NULL;
static SPIPlanPtr plan_revoke = NULL;
static SPIPlanPtr plan_list = NULL;

/* GUC assign hook: a changed path takes effect at the next use. */
void
ms_apikeys_secret_changed(void)
{
	sodium_memzero(&current_secret, sizeof(current_secret));
	sodium_memzero(&previous_secret, sizeof(previous_secret));
}

/* Refuse a secret file that is readable by others or lives in the data directory. */
static void
check_secret_file(const char *setting, const char *path, int fd)
{
	struct stat st;
	char		real[PATH_MAX];
	char		realdata[PATH_MAX];

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_CONFIGURED),
				 errmsg("%s does not name a regular file", setting)));
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_CONFIGURED),
				 errmsg("the server secret file has group or world permissions"),
				 errdetail("%s is mode %04o.", setting, (unsigned) (st.st_mode & 07777)),
				 errhint("chmod 0600 the file.")));
	if (realpath(path, real) != NULL && realpath(DataDir, realdata) != NULL &&
		strncmp(real, realdata, strlen(realdata)) == 0 &&
		(real[strlen(realdata)] == '/' || real[strlen(realdata)] == '\0'))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_CONFIGURED),
				 errmsg("the server secret file must not be inside the data directory"),
				 errhint("Base backups and replicas copy the data directory; keep the secret elsewhere.")));
}

/* Read a secret file and derive the hashing key and fingerprint from it. */
static void
load_secret(ServerSecret *s, const char *setting, const char *path)
{
	unsigned char buf[SECRET_MAX_BYTES];
	unsigned char fp[8];
	ssize_t		n;
	int			fd;

	if (s->loaded)
		return;
	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_CONFIGURED),
				 errmsg("%s is not set", setting),
				 errhint("Point it at a file of at least %d random bytes outside the data directory, e.g. head -c 32 /dev/urandom > /etc/metastore/secret; chmod 0600.",
						 SECRET_MIN_BYTES)));
	/* a transient file is closed by PostgreSQL itself if we error out */
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_CONFIGURED),
				 errmsg("could not open the server secret file named by %s: %m", setting)));
	check_secret_file(setting, path, fd);
	n = read(fd, buf, sizeof(buf));
	CloseTransientFile(fd);
	if (n < SECRET_MIN_BYTES)
	{
		sodium_memzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_CONFIGURED),
				 errmsg("the server secret file named by %s is too short", setting),
				 errdetail("It must hold at least %d bytes.", SECRET_MIN_BYTES)));
	}
	/* domain-separated derivation: the file's bytes never hash keys directly */
	crypto_generichash(s->key, sizeof(s->key), buf, (size_t) n,
					   (const unsigned char *) "metastore api-key hashing v1", 28);
	sodium_memzero(buf, sizeof(buf));
	crypto_generichash(fp, sizeof(fp), s->key, sizeof(s->key),
					   (const unsigned char *) "metastore secret id", 19);
	sodium_bin2hex(s->id, sizeof(s->id), fp, sizeof(fp));
	s->loaded = true;
}

/* The secret new keys are hashed with. */
static ServerSecret *
secret_for_new_keys(void)
{
	load_secret(&current_secret, "metastore.server_secret_file", ms_server_secret_file);
	return &current_secret;
}

/* The configured secret with fingerprint `id`, or NULL. */
static ServerSecret *
secret_by_id(const char *id)
{
	load_secret(&current_secret, "metastore.server_secret_file", ms_server_secret_file);
	if (strcmp(current_secret.id, id) == 0)
		return &current_secret;
	if (ms_previous_server_secret_file != NULL && ms_previous_server_secret_file[0] != '\0')
	{
		load_secret(&previous_secret, "metastore.previous_server_secret_file",
					ms_previous_server_secret_file);
		if (strcmp(previous_secret.id, id) == 0)
			return &previous_secret;
	}
	return NULL;
}

/*
 * A key for another purpose (e.g. sealing search cursors), derived from the
 * current or the previous server secret; false when no previous secret is
 * configured.  Each purpose gets an independent key.
 */
bool
ms_server_subkey(bool previous, const char *purpose, unsigned char *out, size_t outlen)
{
	ServerSecret *s = &current_secret;

	if (previous)
	{
		if (ms_previous_server_secret_file == NULL || ms_previous_server_secret_file[0] == '\0')
			return false;
		load_secret(&previous_secret, "metastore.previous_server_secret_file",
					ms_previous_server_secret_file);
		s = &previous_secret;
	}
	else
		load_secret(&current_secret, "metastore.server_secret_file", ms_server_secret_file);
	crypto_generichash(out, outlen, (const unsigned char *) purpose, strlen(purpose),
					   s->key, sizeof(s->key));
	return true;
}

/* Keyed hash of a whole key. */
static void
hash_key(const ServerSecret *s, const char *key, size_t len, unsigned char out[HASH_BYTES])
{
	crypto_generichash(out, HASH_BYTES, (const unsigned char *) key, len, s->key, sizeof(s->key));
}

/* The one error every failed authentication raises (no oracle for attackers). */
static void
bad_key(const char *detail)
{
	ereport(ERROR,
			(errcode(MS_ERRCODE_BAD_CREDENTIALS),
			 errmsg("invalid API key"),
			 detail ? errdetail("%s", detail) : 0));
}

/* Only the principal itself or a global admin manages a principal's keys. */
static void
require_key_owner(const char *principal)
{
	if (strcmp(principal, ms_current_principal()) != 0 && !ms_is_global_admin())
		ereport(ERROR,
				(errcode(MS_ERRCODE_ACCESS_DENIED),
				 errmsg("permission denied to manage API keys of \"%s\"", principal),
				 errhint("A principal manages its own keys; an admin of \"*\" manages everyone's.")));
}

/*
 * SQL: create_api_key(principal, description, expires_at)
 *   -> (id, api_key, prefix, principal, expires_at)
 * The plaintext key is returned here and never again.
 */
Datum
create_api_key(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[6] = {TEXTOID, TEXTOID, BYTEAOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
	char	   *principal;
	text	   *description = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	ServerSecret *secret;
	TupleDesc	tupdesc;
	Datum		out[5];
	bool		outnulls[5] = {false, false, false, false, false};
	char		key[KEY_LEN + 1];
	unsigned char hash[HASH_BYTES];
	int64		id = 0;

	ms_require_arg(PG_ARGISNULL(0), "principal");
	principal = ms_check_principal_name(PG_GETARG_TEXT_PP(0), "principal");
	ms_check_optional_text(description, "description", MS_MAX_DESCRIPTION_BYTES);
	if (!PG_ARGISNULL(2) && PG_GETARG_TIMESTAMPTZ(2) <= GetCurrentTransactionStartTimestamp())
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("expires_at must be in the future")));
	require_key_owner(principal);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "create_api_key must return a composite");
	secret = secret_for_new_keys();

	ms_spi_connect();
	ms_plan(&plan_insert,
			"INSERT INTO metastore.api_keys (principal, prefix, hash, secret_id, description,"
			" expires_at, created_at, created_by)"
			" VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.now(), metastore.current_principal())"
			" ON CONFLICT (prefix) DO NOTHING RETURNING id",
			6, argtypes);
	/* a lookup id collision (2^-48 per pair) just draws again */
	for (int attempt = 0; attempt < 5 && id == 0; attempt++)
	{
		unsigned char idbytes[KEY_ID_HEX / 2];
		unsigned char secretbytes[KEY_SECRET_BYTES];
		Datum		values[6];
		char		nulls[6] = "      ";
		bytea	   *hb;
		bool		isnull;

		randombytes_buf(idbytes, sizeof(idbytes));
		randombytes_buf(secretbytes, sizeof(secretbytes));
		memcpy(key, "ms_", 3);
		sodium_bin2hex(key + 3, KEY_ID_HEX + 1, idbytes, sizeof(idbytes));
		key[KEY_PREFIX_LEN] = '_';
		sodium_bin2base64(key + KEY_PREFIX_LEN + 1, KEY_SECRET_B64 + 1, secretbytes,
						  sizeof(secretbytes), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(secretbytes, sizeof(secretbytes));
		hash_key(secret, key, KEY_LEN, hash);

		hb = palloc(VARHDRSZ + HASH_BYTES);
		SET_VARSIZE(hb, VARHDRSZ + HASH_BYTES);
		memcpy(VARDATA(hb), hash, HASH_BYTES);
		values[0] = CStringGetTextDatum(principal);
		values[1] = PointerGetDatum(cstring_to_text_with_len(key, KEY_PREFIX_LEN));
		values[2] = PointerGetDatum(hb);
		values[3] = CStringGetTextDatum(secret->id);
		values[4] = description ? PointerGetDatum(description) : (Datum) 0;
		nulls[4] = description ? ' ' : 'n';
		values[5] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
		nulls[5] = PG_ARGISNULL(2) ? 'n' : ' ';
		if (SPI_execute_plan(plan_insert, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not insert API key");
		if (SPI_processed == 1)
			id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	if (id == 0)
		elog(ERROR, "could not draw a unique API key id");

	out[0] = Int64GetDatum(id);
	out[1] = CStringGetTextDatum(key);
	out[2] = PointerGetDatum(cstring_to_text_with_len(key, KEY_PREFIX_LEN));
	out[3] = CStringGetTextDatum(principal);
	out[4] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	outnulls[4] = PG_ARGISNULL(2);
	sodium_memzero(key, sizeof(key));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), out, outnulls)));
}

/*
 * Verify a key in constant time and make its principal the acting principal
 * until the transaction ends.  Reads only: works on a hot standby.  Raises
 * 28000 for any key that does not verify.
 */
/* cache.c callback: metastore.api_keys changed. */
static void
forget_keys(void)
{
	if (key_cache != NULL)
		sodium_memzero(key_cache, sizeof(CachedKey) * MAX_CACHED_KEYS);
	if (key_cxt != NULL)
		MemoryContextReset(key_cxt);
	n_cached_keys = 0;
}

/* The key row with this prefix: from the cache, else read (NULL when unknown). */
static CachedKey *
lookup_key(const char *prefix)
{
	static const Oid argtypes[1] = {TEXTOID};
	Datum		values[1];
	CachedKey  *k = NULL;

	for (int i = 0; i < n_cached_keys; i++)
		if (strcmp(key_cache[i].prefix, prefix) == 0)
			return &key_cache[i];

	if (key_cache == NULL)
	{
		key_cache = MemoryContextAllocZero(TopMemoryContext, sizeof(CachedKey) * MAX_CACHED_KEYS);
		key_cxt = AllocSetContextCreate(TopMemoryContext, "metastore api keys",
										ALLOCSET_SMALL_SIZES);
	}
	if (!key_watch_set)
	{
		ms_cache_watch(ms_relid("api_keys"), forget_keys);
		key_watch_set = true;
	}

	ms_spi_connect();
	ms_plan(&plan_lookup,
			"SELECT principal, hash, secret_id, expires_at, revoked_at"
			" FROM metastore.api_keys WHERE prefix = $1",
			1, argtypes);
	values[0] = CStringGetTextDatum(prefix);
	if (SPI_execute_plan(plan_lookup, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up API key");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bytea	   *stored = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));
		Datum		expires = SPI_getbinval(tup, desc, 4, &isnull);

		if (n_cached_keys >= MAX_CACHED_KEYS)
			forget_keys();
		k = &key_cache[n_cached_keys];
		memset(k, 0, sizeof(*k));
		strlcpy(k->prefix, prefix, sizeof(k->prefix));
		k->principal = MemoryContextStrdup(key_cxt, SPI_getvalue(tup, desc, 1));
		if (VARSIZE_ANY_EXHDR(stored) == HASH_BYTES)
			memcpy(k->hash, VARDATA_ANY(stored), HASH_BYTES);
		strlcpy(k->secret_id, SPI_getvalue(tup, desc, 3), sizeof(k->secret_id));
		k->has_expiry = !isnull;
		k->expires_at = isnull ? 0 : DatumGetTimestampTz(expires);
		SPI_getbinval(tup, desc, 5, &isnull);
		k->revoked = !isnull;
		n_cached_keys++;
	}
	SPI_finish();
	return k;
}

/*
 * Verify a key in constant time and make its principal the acting principal
 * until the transaction ends.  Reads only: works on a hot standby.  Raises
 * 28000 for any key that does not verify.
 */
const char *
ms_authenticate_key(const char *given)
{
	size_t		len = strlen(given);
	char	   *key = pstrdup(given);
	char		prefix[KEY_PREFIX_LEN + 1];
	unsigned char hash[HASH_BYTES];
	CachedKey  *k;
	bool		ok = false;
	char	   *principal = NULL;
	const char *why = NULL;

	if (len != KEY_LEN || strncmp(key, "ms_", 3) != 0 || key[KEY_PREFIX_LEN] != '_')
		bad_key("The key is not of the form ms_<id>_<secret>.");
	memcpy(prefix, key, KEY_PREFIX_LEN);
	prefix[KEY_PREFIX_LEN] = '\0';

	k = lookup_key(prefix);
	if (k != NULL)
	{
		ServerSecret *secret = secret_by_id(k->secret_id);

		if (secret != NULL)
		{
			hash_key(secret, key, len, hash);
			ok = sodium_memcmp(hash, k->hash, HASH_BYTES) == 0;
		}
		if (ok && k->revoked)
		{
			ok = false;
			why = "The key has been revoked.";
		}
		else if (ok && k->has_expiry && k->expires_at <= GetCurrentTimestamp())
		{
			ok = false;
			why = "The key has expired.";
		}
		else if (ok)
			principal = pstrdup(k->principal);
	}
	else
	{
		/* spend the same work on an unknown id as on a known one */
		hash_key(secret_for_new_keys(), key, len, hash);
	}
	sodium_memzero(key, len);
	if (!ok)
		bad_key(why);
	ms_set_authenticated_principal(principal);
	return principal;
}

/* SQL: authenticate(api_key) -> principal. */
Datum
authenticate(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		bad_key("No key was given.");
	PG_RETURN_TEXT_P(cstring_to_text(ms_authenticate_key(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

/* SQL: revoke_api_key(prefix) -> true when a live key was revoked. */
Datum
revoke_api_key(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[2] = {TEXTOID, TEXTOID};
	static SPIPlanPtr plan_owner = NULL;
	static const Oid owner_types[1] = {TEXTOID};
	char	   *prefix;
	Datum		values[2];
	bool		revoked;

	ms_require_arg(PG_ARGISNULL(0), "prefix");
	prefix = text_to_cstring(PG_GETARG_TEXT_PP(0));
	/* a whole key is accepted too: only its prefix is used */
	if (strlen(prefix) > KEY_PREFIX_LEN && strncmp(prefix, "ms_", 3) == 0)
		prefix[KEY_PREFIX_LEN] = '\0';

	ms_spi_connect();
	ms_plan(&plan_owner, "SELECT principal FROM metastore.api_keys WHERE prefix = $1",
			1, owner_types);
	values[0] = CStringGetTextDatum(prefix);
	if (SPI_execute_plan(plan_owner, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up API key");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("API key \"%s\" not found", prefix)));
	require_key_owner(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));

	ms_plan(&plan_revoke,
			"UPDATE metastore.api_keys SET revoked_at = pg_catalog.now(), revoked_by = $2"
			" WHERE prefix = $1 AND revoked_at IS NULL",
			2, argtypes);
	values[1] = CStringGetTextDatum(ms_current_principal());
	if (SPI_execute_plan(plan_revoke, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not revoke API key");
	revoked = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(revoked);
}

/*
 * SQL: list_api_keys(principal DEFAULT NULL): keys without their secrets;
 * a principal sees its own, a global admin sees everyone's.
 */
Datum
list_api_keys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const Oid argtypes[2] = {TEXTOID, BOOLOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	else
		values[0] = CStringGetTextDatum(ms_check_principal_name(PG_GETARG_TEXT_PP(0), "principal"));
	values[1] = BoolGetDatum(ms_is_global_admin());

	ms_spi_connect();
	ms_plan(&plan_list,
			"SELECT id, prefix, principal, description, created_at, created_by, expires_at,"
			" revoked_at, CASE WHEN revoked_at IS NOT NULL THEN 'revoked'"
			"  WHEN expires_at <= pg_catalog.now() THEN 'expired' ELSE 'active' END"
			" FROM metastore.api_keys"
			" WHERE ($1 IS NULL OR principal = $1)"
			"   AND ($2 OR principal = metastore.current_principal())"
			" ORDER BY id",
			2, argtypes);
	if (SPI_execute_plan(plan_list, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list API keys");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		out[9];
		bool		outnulls[9];

		for (int c = 0; c < 9; c++)
			out[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &outnulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
	}
	SPI_finish();
	return (Datum) 0;
}
