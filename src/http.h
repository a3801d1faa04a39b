/*
 * http.h: REST onto SQL: the route table and metastore.http_dispatch.
 */
#ifndef METASTORE_HTTP_H
#define METASTORE_HTTP_H

extern int	ms_http_status(int sqlerrcode, bool conditional);

#endif
