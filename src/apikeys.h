/*
 * apikeys.h: API keys and authentication.
 */
#ifndef METASTORE_APIKEYS_H
#define METASTORE_APIKEYS_H

extern char *ms_server_secret_file;
extern char *ms_previous_server_secret_file;

extern void ms_apikeys_secret_changed(void);
extern const char *ms_authenticate_key(const char *key);
extern bool ms_server_subkey(bool previous, const char *purpose, unsigned char *out,
							 size_t outlen);

#endif
