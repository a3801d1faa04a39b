#!/usr/bin/env perl
# Search through the real shim: POST /records/search (docs/search.md) and the
# GET /api/v1/metadata list.  Filters, projection, sort, keyset pages and
# their cursors, every error status with its SQLSTATE, access, soft deletes,
# and hostile input that must be answered with a 4xx and change nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ShimTest;

my $ns  = uniq('search');                 # the main data set
my $ns2 = uniq('search');                 # another namespace (access, cursors)
my $ns3 = uniq('search');                 # keyset stability while writing
my $ns4 = uniq('search');                 # non-ASCII keys
my $ns5 = uniq('search');                 # odd documents, a record named "search"
my $ns6 = uniq('search');                 # 1005 records: default and largest pages
my $w   = principal_key(uniq('swriter'), map { [$_, 'writer'] } $ns, $ns2, $ns3, $ns4, $ns5, $ns6);
my $r   = principal_key(uniq('sreader'), [$ns, 'reader']);

# percent-encode a path segment or query value (bytes)
sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; return $s }

sub search {
    my ($query, %o) = @_;
    my $n = exists $o{ns} ? delete $o{ns} : $ns;
    my $key = exists $o{key} ? delete $o{key} : $w;
    return req(POST => '/records/search' . (defined $n ? '?namespace=' . enc($n) : ''),
               (defined $key ? (key => $key) : ()), body => $query, %o);
}

# GET /api/v1/metadata with [name, value] pairs (kept in order, encoded)
sub mlist {
    my ($params, %o) = @_;
    my $key = exists $o{key} ? delete $o{key} : $w;
    my $qs = join '&', map { enc($_->[0]) . '=' . enc($_->[1]) } @$params;
    return req(GET => '/api/v1/metadata' . (length $qs ? "?$qs" : ''),
               (defined $key ? (key => $key) : ()), %o);
}

sub keys_of { my $res = shift; return [map { $_->{key} } @{ ($res->{body} // {})->{items} // [] }] }

# one test: the status and the error body's code
sub err_is {
    my ($res, $status, $code, $name) = @_;
    my $got = ($res->{status} // '?') . ' ' . (ref $res->{body} eq 'HASH' ? $res->{body}{code} // '-' : '-');
    is($got, "$status $code", $name) or diag($res->{raw});
}

# one test: 200 and exactly these keys, in this order
sub finds {
    my ($res, $want, $name) = @_;
    if (($res->{status} // 0) != 200) {
        fail($name);
        diag("status $res->{status}: " . ($res->{raw} // ''));
        return;
    }
    is_deeply(keys_of($res), $want, $name) or diag($res->{raw});
}

# Walk every page (fetch(cursor) -> response) until next_cursor is null.
# Returns (keys, number of pages, problems); problems lists anything off
# (a failed page, a missing next_cursor, an empty page that is not the last).
sub walk {
    my $fetch = shift;
    my (@keys, @problems);
    my ($cursor, $pages) = (undef, 0);
    while (1) {
        my $res = $fetch->($cursor);
        $pages++;
        if (($res->{status} // 0) != 200) {
            push @problems, "page $pages: status $res->{status}: " . ($res->{raw} // '');
            last;
        }
        my $items = $res->{body}{items};
        push @keys, map { $_->{key} } @$items;
        if (!exists $res->{body}{next_cursor}) { push @problems, "page $pages has no next_cursor"; last }
        $cursor = $res->{body}{next_cursor};
        last unless defined $cursor;
        push @problems, "page $pages is empty but has a next_cursor" unless @$items;
        if ($pages >= 100) { push @problems, 'more than 100 pages'; last }
    }
    return (\@keys, $pages, \@problems);
}

sub walk_search {
    my ($query, $limit, %o) = @_;
    return walk(sub {
        my $c = shift;
        search({ %$query, (defined $limit ? (limit => $limit) : ()), (defined $c ? (cursor => $c) : ()) }, %o);
    });
}

sub walk_list {
    my ($params, %o) = @_;
    return walk(sub {
        my $c = shift;
        mlist([@$params, (defined $c ? (['cursor', $c]) : ())], %o);
    });
}

sub leaf { my ($f, $op, $v) = @_; return { field => $f, op => $op, (@_ > 2 ? (value => $v) : ()) } }

# ---------------------------------------------------------------- data set
# Written in this order (updated_at order); app.b is updated last.
my @puts = (
    ['app.a', { metadata => { pool => 10, env => 'prod', name => 'alpha', list => [1, 2, 3],
                              nested => { x => 1, y => 2 } }, tags => ['db', 'cache'], owner => 'alice' }],
    ['app.b', { metadata => { pool => 30, env => 'dev', name => 'beta', list => [4] }, tags => ['db'], owner => 'bob' }],
    ['app.c', { metadata => { pool => 50, env => 'prod' }, tags => ['cache'] }],
    ['app.d', { metadata => { pool => '20', env => 'prod' }, tags => [], owner => 'alice' }],
    ['db.x',  { metadata => { pool => 70, items => [{ id => 1, x => 2 }, { id => 2 }] }, tags => ['db', 'primary'],
                owner => 'carol' }],
    ['db.y',  { metadata => { size => 5 }, tags => ['db'] }],
    ['zz',    { metadata => 42, tags => ['misc'], owner => 'bob' }],
    ["q'uote", { metadata => { "it's" => "x'; DROP TABLE metastore.records; --", 'a"b' => 1 }, tags => ["a'b"] }],
    ['gone',  { metadata => { pool => 20, env => 'prod' }, tags => ['db', 'cache'], owner => 'alice' }],
);
my $setup_ok = 1;
for my $p (@puts) {
    my $s = req(PUT => '/records/' . enc($p->[0]) . "?namespace=$ns", key => $w, body => $p->[1])->{status};
    $setup_ok = 0 unless $s == 201;
}
$setup_ok = 0 unless req(DELETE => "/records/gone?namespace=$ns", key => $w)->{status} == 204;
$setup_ok = 0 unless req(PUT => "/records/app.b?namespace=$ns", key => $w, body => { %{ $puts[1][1] },
                         metadata => { pool => 30, env => 'dev', name => 'beta', list => [4], rev => 2 } })->{status} == 200;
ok($setup_ok, 'data set written (9 records, one soft-deleted, app.b updated)');

my @all = ('app.a', 'app.b', 'app.c', 'app.d', 'db.x', 'db.y', "q'uote", 'zz');   # by code point
my $snapshot_sql = "SELECT count(*) || '/' || sum(version) || '/' || max(updated_at) || '/' || "
                 . "(SELECT count(*) FROM metastore.records) FROM metastore.records WHERE namespace = '$ns'";

# ---------------------------------------------------------------- happy paths
my $res = search({});
is($res->{status}, 200, 'POST /records/search with {}: 200');
finds($res, \@all, 'the empty query finds every live record, sorted by key');
ok(exists $res->{body}{next_cursor} && !defined $res->{body}{next_cursor}, 'a single page has next_cursor null');
my ($item) = grep { $_->{key} eq 'app.a' } @{ $res->{body}{items} || [] };
is_deeply($item, req(GET => "/records/app.a?namespace=$ns", key => $w)->{body},
          'an item is exactly what GET /records/{key} shows');
ok($res->{status} == 200 && !grep({ $_ eq 'gone' } @{ keys_of($res) }), 'the soft-deleted record is absent');
finds(search({ filter => leaf('key', 'eq', 'gone') }), [], 'a filter naming the soft-deleted record finds nothing');
finds(search({ filter => leaf('tags', 'array_contains', 'cache') }), ['app.a', 'app.c'],
      'a soft-deleted record is absent even when its tags match');

finds(search({ filter => leaf('key', 'prefix', 'app.') }), ['app.a', 'app.b', 'app.c', 'app.d'], 'key prefix');
finds(search({ filter => { and => [leaf('key', 'prefix', 'app.'), leaf('metadata.pool', 'between', [10, 40])] } }),
      ['app.a', 'app.b'], 'and: prefix and between (a string "20" is not a number)');
finds(search({ filter => { or => [leaf('key', 'eq', 'db.x'), leaf('tags', 'array_contains', 'cache')] } }),
      ['app.a', 'app.c', 'db.x'], 'or');
finds(search({ filter => { not => leaf('metadata.env', 'eq', 'prod') } }),
      ['app.b', 'db.x', 'db.y', "q'uote", 'zz'], 'not: records without the path match the negation');
finds(search({ filter => { and => [
          { or => [leaf('tags', 'array_contains', 'db'), leaf('owner', 'eq', 'bob')] },
          { not => leaf('metadata.env', 'eq', 'dev') } ] } }),
      ['app.a', 'db.x', 'db.y', 'zz'], 'and of or and not');
finds(search({ filter => { not => { or => [leaf('key', 'prefix', 'app.'), leaf('tags', 'in', ['misc', 'db'])] } } }),
      ["q'uote"], 'not of or (De Morgan)');
finds(search({ filter => { and => [] } }), \@all, 'an empty and is true');
finds(search({ filter => { or => [] } }), [], 'an empty or is false');
finds(search({ filter => leaf('owner', 'neq', 'alice') }), ['app.b', 'db.x', 'zz'], 'owner neq: a missing owner never matches');
finds(search({ filter => { not => leaf('owner', 'exists') } }), ['app.c', 'db.y', "q'uote"], 'not owner exists');
finds(search({ filter => leaf('owner', 'exists', JSON::PP::false) }), ['app.c', 'db.y', "q'uote"], 'owner exists false');
finds(search({ filter => leaf('metadata.pool', 'gt', 20) }), ['app.b', 'app.c', 'db.x'],
      'metadata gt: numbers only, a type mismatch is false');
finds(search({ filter => leaf('metadata.pool', 'lt', 'a') }), ['app.d'], 'metadata lt with a string compares strings only');
finds(search('{"filter": {"field": "metadata.pool", "op": "eq", "value": 10.0}}'), ['app.a'], 'numbers by value: 10.0 = 10');
finds(search({ filter => leaf('metadata.pool', 'in', [30, '20', 999]) }), ['app.b', 'app.d'], 'metadata in');
finds(search({ filter => leaf('metadata.env', 'neq', 'prod') }), ['app.b'], 'metadata neq: present, same type, not equal');
finds(search({ filter => leaf('metadata.list.0', 'eq', 1) }), ['app.a'], 'a digit segment indexes an array');
finds(search({ filter => leaf('metadata.nested', 'eq', { y => 2, x => 1 }) }), ['app.a'], 'objects compare deeply');
finds(search({ filter => leaf('metadata.nested', 'eq', { x => 1 }) }), [], 'eq on an object is exact, not containment');
finds(search({ filter => leaf('metadata.items', 'array_contains', { id => 1 }) }), ['db.x'],
      'array_contains matches elements by containment');
finds(search({ filter => leaf('metadata', 'contains', { env => 'prod' }) }), ['app.a', 'app.c', 'app.d'], 'metadata contains');
finds(search({ filter => leaf('metadata.name', 'prefix', 'al') }), ['app.a'], 'metadata prefix');
finds(search({ filter => leaf('metadata.name', 'contains', 'et') }), ['app.b'], 'metadata contains a substring');
finds(search({ filter => leaf('metadata', 'has_key', 'size') }), ['db.y'], 'metadata has_key');
finds(search({ filter => leaf('metadata.env', 'exists', JSON::PP::false) }), ['db.x', 'db.y', "q'uote", 'zz'],
      'metadata path exists false');
finds(search({ filter => leaf('metadata', 'eq', 42) }), ['zz'], 'the whole document');
finds(search({ filter => leaf('tags', 'in', ['primary', 'misc']) }), ['db.x', 'zz'], 'tags in');
finds(search({ filter => leaf('tags', 'eq', ['db']) }), ['app.b', 'db.y'], 'tags eq is the same set');
finds(search({ filter => leaf('tags', 'contains', ['db', 'cache']) }), ['app.a'], 'tags contains all');
finds(search({ filter => { not => leaf('tags', 'exists') } }), ['app.d'], 'no tags');
finds(search({ filter => leaf('version', 'eq', 2) }), ['app.b'], 'version');
finds(search({ filter => leaf('key', 'in', ['zz', 'app.c', 'nope']) }), ['app.c', 'zz'], 'key in');
finds(search({ filter => leaf('key', 'lt', 'b') }), ['app.a', 'app.b', 'app.c', 'app.d'], 'key lt');
finds(search('{"filter": {"field": "metadata.pool", "op": "eq", "value": 1e1}}'), ['app.a'], 'numbers by value: 1e1 = 10');
finds(search('{"filter": {"field": "metadata.pool", "op": "lt", "value": 10.5}}'), ['app.a'], 'lt a decimal');
finds(search({ filter => leaf('key', 'prefix', '') }), \@all, 'the empty prefix');
finds(search({ filter => leaf('created_at', 'gte', '2000-01-01') }), \@all, 'a timestamp as a date');
my %at = map { $_->{key} => $_ } @{ search({ fields => ['created_at', 'updated_at'] })->{body}{items} || [] };
finds(search({ filter => leaf('updated_at', 'gt', $at{'db.y'}{updated_at} // 'x') }), ['app.b', "q'uote", 'zz'],
      'updated_at gt a returned timestamp (offset form, microseconds)');
finds(search({ filter => leaf('created_at', 'between', [$at{'app.c'}{created_at} // 'x', $at{'app.d'}{created_at} // 'x']) }),
      ['app.c', 'app.d'], 'created_at between is inclusive');
finds(search({ filter => leaf('updated_at', 'lt', '2000-01-01T00:00:00+02:00') }), [], 'a timestamp with an offset');

# --- projection
$res = search({ fields => ['tags', 'owner'], filter => leaf('key', 'eq', 'app.a') });
is_deeply(($res->{body}{items} // [])->[0], { key => 'app.a', tags => ['cache', 'db'], owner => 'alice' },
          'fields: only those fields, and key');
$res = search({ fields => ['metadata.pool', 'updated_at'], filter => leaf('key', 'eq', 'app.a') });
$item = ($res->{body}{items} // [])->[0] // {};
my $pool = exists $item->{'metadata.pool'} ? $item->{'metadata.pool'}
         : ref $item->{metadata} eq 'HASH' ? $item->{metadata}{pool} : undef;
is($pool, 10, 'fields: a metadata path is projected');
is_deeply([$res->{status}, sort grep { !/^(key|updated_at|metadata|metadata\.pool)$/ } keys %$item], [200],
          'fields: nothing else (no id, tags, version, ...)') or diag($res->{raw});
ok(defined $item->{updated_at} && ($item->{key} // '') eq 'app.a', 'fields: key and updated_at present');
ok(defined $pool && (ref $item->{metadata} ne 'HASH' || !exists $item->{metadata}{env}),
   'fields: only the projected path of the document');

# --- sort
my @pool_desc = ('zz', "q'uote", 'db.y', 'db.x', 'app.c', 'app.b', 'app.a', 'app.d');
finds(search({ sort => [{ field => 'key', dir => 'desc' }] }), [reverse @all], 'sort key desc');
finds(search({ sort => [{ field => 'metadata.pool' }] }),
      ['app.d', 'app.a', 'app.b', 'app.c', 'db.x', 'db.y', "q'uote", 'zz'],
      'sort metadata.pool asc: jsonb order, missing last, ties by key');
finds(search({ sort => [{ field => 'metadata.pool', dir => 'desc' }] }), \@pool_desc,
      'sort metadata.pool desc: missing first, ties by key desc');
finds(search({ sort => [{ field => 'owner', dir => 'asc' }] }),
      ['app.a', 'app.d', 'app.b', 'zz', 'db.x', 'app.c', 'db.y', "q'uote"], 'sort owner asc: missing owner last');
finds(search({ sort => [{ field => 'owner', dir => 'desc' }] }),
      ["q'uote", 'db.y', 'app.c', 'db.x', 'zz', 'app.b', 'app.d', 'app.a'], 'sort owner desc: missing first');
finds(search({ sort => [{ field => 'owner' }, { field => 'metadata.pool', dir => 'desc' }] }),
      ['app.a', 'app.d', 'zz', 'app.b', 'db.x', "q'uote", 'db.y', 'app.c'], 'two sort entries, ties by the last direction');
finds(search({ sort => [{ field => 'updated_at', dir => 'desc' }] }),
      ['app.b', "q'uote", 'zz', 'db.y', 'db.x', 'app.d', 'app.c', 'app.a'], 'sort updated_at desc');

# --- pages
my ($keys, $pages, $problems) = walk_search({}, 3);
is_deeply($keys, \@all, 'pages of 3 walked with cursors give every record once, in order');
is($pages, 3, '8 records in pages of 3: three pages');
is_deeply($problems, [], 'every page answered 200, non-empty, the last with next_cursor null');
($keys, $pages, $problems) = walk_search({ sort => [{ field => 'metadata.pool', dir => 'desc' }] }, 2);
is_deeply([$keys, $problems], [\@pool_desc, []], 'pages of 2 by metadata.pool desc');
($keys, $pages, $problems) = walk_search({ sort => [{ field => 'owner' }, { field => 'metadata.pool', dir => 'desc' }] }, 1);
is_deeply([$keys, $problems], [['app.a', 'app.d', 'zz', 'app.b', 'db.x', "q'uote", 'db.y', 'app.c'], []],
          'pages of 1 over two sort entries with missing values');
for my $case ([[{ field => 'owner', dir => 'desc' }], 1, ["q'uote", 'db.y', 'app.c', 'db.x', 'zz', 'app.b', 'app.d', 'app.a']],
              [[{ field => 'metadata.pool' }], 1, ['app.d', 'app.a', 'app.b', 'app.c', 'db.x', 'db.y', "q'uote", 'zz']],
              [[{ field => 'updated_at', dir => 'desc' }], 3, ['app.b', "q'uote", 'zz', 'db.y', 'db.x', 'app.d', 'app.c', 'app.a']],
              [[{ field => 'version', dir => 'desc' }, { field => 'created_by' }], 2,
               ['app.b', 'app.a', 'app.c', 'app.d', 'db.x', 'db.y', "q'uote", 'zz']]) {
    ($keys, $pages, $problems) = walk_search({ sort => $case->[0] }, $case->[1]);
    is_deeply([$keys, $problems], [$case->[2], []],
              "pages of $case->[1] sorted by " . join(', ', map { "$_->{field} " . ($_->{dir} // 'asc') } @{ $case->[0] }));
}
($keys, $pages, $problems) = walk_search({ filter => leaf('key', 'prefix', 'app.') }, 2);
is_deeply([$keys, $pages, $problems], [['app.a', 'app.b', 'app.c', 'app.d'], 2, []],
          'a page that ends at the last match has next_cursor null (no empty trailing page)');

$res = search({ limit => 3 });
my $c1 = $res->{body}{next_cursor};
ok(defined $c1 && !ref $c1 && length $c1, 'a full page has a next_cursor string');
{
    my $decoded = '';
    if (defined $c1) {
        require MIME::Base64;
        (my $b64 = $c1) =~ tr{-_}{+/};
        $decoded = MIME::Base64::decode_base64($b64);
    }
    ok(defined $c1 && "$c1$decoded" !~ /app\.c|app\.b/, 'the cursor does not show the sort values, even base64-decoded');
}
finds(search({ limit => 3, cursor => $c1 }), ['app.d', 'db.x', 'db.y'], 'the cursor gives the next page');
finds(search({ limit => 3, cursor => $c1 }), ['app.d', 'db.x', 'db.y'], 'the same cursor again: the same page');
$res = search({ limit => 2, fields => ['owner'], cursor => $c1 });
finds($res, ['app.d', 'db.x'], 'fields and limit may change between pages');
is_deeply(($res->{body}{items} // [])->[0], { key => 'app.d', owner => 'alice' }, 'with the new projection');

# keyset pages while others write: no repeats, no skips of records that stay put
for my $i (1 .. 9) { req(PUT => "/records/k0$i?namespace=$ns3", key => $w, body => { metadata => { n => $i } }) }
$res = search({ limit => 3 }, ns => $ns3);
finds($res, ['k01', 'k02', 'k03'], 'stability: first page');
req(PUT => "/records/k00?namespace=$ns3", key => $w, body => { metadata => 0 });
req(PUT => "/records/k055?namespace=$ns3", key => $w, body => { metadata => 55 });
req(DELETE => "/records/k07?namespace=$ns3", key => $w);
req(DELETE => "/records/k02?namespace=$ns3", key => $w);
req(PUT => "/records/k04?namespace=$ns3", key => $w, body => { metadata => { n => 44 } });
my $c = $res->{body}{next_cursor};
($keys, $pages, $problems) = walk(sub { search({ limit => 3, cursor => $_[0] // $c }, ns => $ns3) });
is_deeply([$keys, $problems], [['k04', 'k05', 'k055', 'k06', 'k08', 'k09'], []],
          'stability: later pages after inserts, deletes and an update between pages');
req(PUT => "/records/k10?namespace=$ns3", key => $w, body => { metadata => 1 });
req(DELETE => "/records/k10?namespace=$ns3", key => $w);
req(PUT => "/records/k10?namespace=$ns3", key => $w, body => { metadata => 100 });
$res = search({ filter => leaf('key', 'prefix', 'k1') }, ns => $ns3);
is_deeply([map { [$_->{key}, $_->{metadata}] } @{ $res->{body}{items} || [] }], [['k10', 100]],
          'a deleted then recreated record appears once, as it is now');

# non-ASCII keys: code point order, prefix on a multibyte character
my %owner4 = ("e" => ['alice', 'a'], "f" => ['Zed', 'Z'], "\xc3\xa9" => ["\xc3\xa9mile", "\xc3\xa9"]);
for my $k ("e", "f", "\xc3\xa9", "\xc3\xa9a", "\xc3\xaa", "\xc3\xa9\xc3\xa9") {
    req(PUT => '/records/' . enc($k) . "?namespace=$ns4", key => $w,
        body => { metadata => { s => $owner4{$k} ? $owner4{$k}[1] : 'z' }, ($owner4{$k} ? (owner => $owner4{$k}[0]) : ()) });
}
finds(search({}, ns => $ns4), ["e", "f", "\xc3\xa9", "\xc3\xa9a", "\xc3\xa9\xc3\xa9", "\xc3\xaa"], 'keys sort by code point');
finds(search({ filter => leaf('key', 'prefix', "\xc3\xa9") }, ns => $ns4), ["\xc3\xa9", "\xc3\xa9a", "\xc3\xa9\xc3\xa9"],
      'prefix of a multibyte character');
finds(search({ sort => [{ field => 'owner' }] }, ns => $ns4),
      ['f', 'e', "\xc3\xa9", "\xc3\xa9a", "\xc3\xa9\xc3\xa9", "\xc3\xaa"], 'owner sorts by code point (Zed < alice < non-ASCII)');
finds(search({ filter => leaf('owner', 'lt', 'b') }, ns => $ns4), ['e', 'f'], 'owner lt by code point');
finds(search({ filter => leaf('metadata.s', 'lt', 'b') }, ns => $ns4), ['e', 'f'], 'metadata string lt by code point');
finds(search({ filter => leaf('metadata.s', 'gt', 'f') }, ns => $ns4), ["\xc3\xa9", "\xc3\xa9a", "\xc3\xa9\xc3\xa9", "\xc3\xaa"],
      'metadata string gt by code point');

# 1005 records: the default page is 50, the largest 1000
psql("SELECT count(metastore.put_record('$ns6', 'k' || lpad(i::text, 4, '0'), to_jsonb(i))) FROM generate_series(1, 1005) i");
my @many = map { sprintf('k%04d', $_) } 1 .. 1005;
$res = search({}, ns => $ns6);
is_deeply([scalar @{ keys_of($res) }, defined $res->{body}{next_cursor} ? 1 : 0], [50, 1], 'the default page is 50 items');
($keys, $pages, $problems) = walk_search({}, undef, ns => $ns6);
is_deeply([$keys, $pages, $problems], [\@many, 21, []], 'pages of the default size: 21 pages, every record once');
($keys, $pages, $problems) = walk_search({}, 1000, ns => $ns6);
is_deeply([$keys, $pages, $problems], [\@many, 2, []], 'pages of 1000: two pages');
($keys, $pages, $problems) = walk_search({ sort => [{ field => 'metadata.x', dir => 'desc' }], fields => ['key'] }, 400, ns => $ns6);
is_deeply([$keys, $problems], [[reverse @many], []], 'pages of 400 by a path no record has, desc: key desc');
($keys, $pages, $problems) = walk_list([['namespace', $ns6], ['limit', '1000']]);
is_deeply([$keys, $pages, $problems], [\@many, 2, []], 'list pages of 1000: two pages');

# odd documents and paths
req(PUT => "/records/e1?namespace=$ns5", key => $w, body => '{"metadata": {"m": {"0": "zero"}, "arr": ["a", "b"], "n": null}}');
req(PUT => "/records/e2?namespace=$ns5", key => $w, body => '{"metadata": {"m": ["zero"], "n": 0}}');
finds(search({ filter => leaf('metadata.m.0', 'eq', 'zero') }, ns => $ns5), ['e1', 'e2'],
      'a digit segment: an array index or a digit key of an object');
finds(search({ filter => leaf('metadata.arr.1', 'eq', 'b') }, ns => $ns5), ['e1'], 'a digit segment indexes in order');
finds(search({ filter => leaf('metadata.arr.2', 'exists') }, ns => $ns5), [], 'an index past the end is missing');
finds(search({ filter => leaf('metadata.n', 'exists') }, ns => $ns5), ['e1', 'e2'], 'exists is true for JSON null');
finds(search({ filter => leaf('metadata.n', 'eq', undef) }, ns => $ns5), ['e1'], 'eq null');
finds(search({ filter => leaf('metadata.n', 'neq', 1) }, ns => $ns5), ['e2'], 'neq needs the same JSON type');
finds(search({ filter => leaf('key', 'prefix', "ô¿¿") }, ns => $ns5), [], 'prefix of the last code point');
is(req(PUT => "/records/search?namespace=$ns5", key => $w, body => { metadata => 's' })->{status}, 201,
   'PUT /records/search still creates the record "search"');
is(req(GET => "/records/search?namespace=$ns5", key => $w)->{body}{metadata}, 's', 'and GET /records/search reads it');
finds(search({}, ns => $ns5), ['e1', 'e2', 'search'], 'while POST /records/search searches');
# sorting a path across JSON types: null < string < number < boolean < array < object, missing last
my @typed = (['t0', '{"u": 1}'], ['t1', '{"t": null}'], ['t2', '{"t": "str"}'], ['t3', '{"t": 0}'],
             ['t4', '{"t": true}'], ['t5', '{"t": [1]}'], ['t6', '{"t": {"a": 1}}']);
req(PUT => "/records/$_->[0]?namespace=$ns5", key => $w, body => qq({"metadata": $_->[1]})) for @typed;
my @typed_asc = ('t1', 't2', 't3', 't4', 't5', 't6', 't0');
for my $dir ('asc', 'desc') {
    my $want = $dir eq 'asc' ? \@typed_asc : [reverse @typed_asc];
    my $q = { filter => leaf('key', 'prefix', 't'), sort => [{ field => 'metadata.t', dir => $dir }] };
    finds(search($q, ns => $ns5), $want, "sort a path across JSON types, $dir (JSON null is a value, not missing)");
    ($keys, $pages, $problems) = walk_search($q, 1, ns => $ns5);
    is_deeply([$keys, $problems], [$want, []], "and in pages of 1, $dir");
}
for my $op (qw(eq contains array_contains)) {
    $res = search('{"filter": {"field": "metadata.a", "op": "' . $op . '", "value": ' . ('[' x 3000) . (']' x 3000) . '}}', ns => $ns5);
    like($res->{status}, qr/^(200|413)$/, "a value nested 3000 deep ($op): 200 or 413") or diag($res->{raw});
}

# ---------------------------------------------------------------- cursors
err_is(search({ limit => 3, cursor => $c1, filter => leaf('key', 'prefix', 'a') }), 400, 'MS400',
       'a cursor reused with another filter: 400 MS400');
$res = search({ limit => 2, filter => leaf('key', 'prefix', 'app.') });
err_is(search({ limit => 2, filter => leaf('key', 'prefix', 'db.'), cursor => $res->{body}{next_cursor} }), 400, 'MS400',
       'a cursor reused with another filter value: 400 MS400');
err_is(search({ limit => 2, filter => { and => [leaf('key', 'prefix', 'app.')] }, cursor => $res->{body}{next_cursor} }),
       400, 'MS400', 'a cursor reused with another filter shape: 400 MS400');
err_is(search({ limit => 2, cursor => $res->{body}{next_cursor} }), 400, 'MS400',
       'a cursor reused without its filter: 400 MS400');
err_is(search({ limit => 3, cursor => $c1, sort => [{ field => 'key', dir => 'desc' }] }), 400, 'MS400',
       'a cursor reused with another sort: 400 MS400');
err_is(search({ limit => 3, cursor => $c1 }, ns => $ns2), 400, 'MS400', 'a cursor reused in another namespace: 400 MS400');
(my $tampered = $c1 // 'x') =~ s/^(.{10})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
err_is(search({ limit => 3, cursor => $tampered }), 400, 'MS400', 'an altered cursor: 400 MS400');
err_is(search({ limit => 3, cursor => substr($c1 // 'x', 0, -4) }), 400, 'MS400', 'a truncated cursor: 400 MS400');
err_is(search({ cursor => 'not-a-cursor' }), 400, 'MS400', 'a made-up cursor: 400 MS400');
err_is(search({ cursor => '' }), 400, 'MS400', 'an empty cursor: 400 MS400');
err_is(search({ cursor => 'A' x 5000 }), 400, 'MS400', 'a cursor over 4096 bytes: 400 MS400');
err_is(search({ cursor => "'; DROP TABLE metastore.records; --" }), 400, 'MS400', 'a cursor of SQL: 400 MS400');

# ---------------------------------------------------------------- errors
$res = search('{"filter": ');
err_is($res, 400, '22P02', 'a body that is not JSON: 400 22P02');
ok(ref $res->{body} eq 'HASH' && exists $res->{body}{message} && exists $res->{body}{details}
   && exists $res->{body}{hint}, 'the error body has code, message, details, hint');
err_is(search('{"limit": 1}', type => 'text/plain'), 415, 'MS415', 'a non-JSON content type: 415');
err_is(search([]), 422, '22023', 'a query that is not an object: 422');
err_is(search({ filtr => {} }), 422, '22023', 'an unknown part of the query: 422');
err_is(search({ filter => leaf('nope', 'eq', 1) }), 422, '22023', 'an unknown field: 422');
err_is(search({ filter => leaf('key', 'like', 'a') }), 422, '22023', 'an unknown operator: 422');
err_is(search({ filter => { field => 'key', value => 'a' } }), 422, '22023', 'a leaf without op: 422');
err_is(search({ filter => leaf('key', 'eq') }), 422, '22023', 'eq without a value: 422');
err_is(search({ filter => leaf('version', 'eq', '1') }), 422, '22023', 'a string for version: 422');
err_is(search({ filter => leaf('key', 'eq', 1) }), 422, '22023', 'a number for key: 422');
err_is(search({ filter => leaf('updated_at', 'gt', 'yesterday') }), 422, '22023', 'a timestamp that is not RFC 3339: 422');
err_is(search({ filter => leaf('version', 'prefix', '1') }), 422, '22023', 'prefix on version: 422');
err_is(search({ filter => leaf('tags', 'has_key', 'db') }), 422, '22023', 'has_key on tags: 422');
err_is(search({ filter => leaf('tags', 'lt', 'db') }), 422, '22023', 'lt on tags: 422');
err_is(search({ filter => leaf('key', 'between', ['a']) }), 422, '22023', 'between with one bound: 422');
err_is(search({ filter => leaf('metadata.pool', 'between', [1, 'z']) }), 422, '22023', 'between of a number and a string: 422');
err_is(search({ filter => leaf('metadata.pool', 'lt', { a => 1 }) }), 422, '22023', 'lt with an object: 422');
err_is(search({ filter => leaf('key', 'in', 'a') }), 422, '22023', 'in without an array: 422');
err_is(search({ filter => { and => [leaf('key', 'eq', 'a')], or => [] } }), 422, '22023', 'and next to or: 422');
err_is(search({ filter => { and => [], field => 'key' } }), 422, '22023', 'a leaf key next to and: 422');
err_is(search({ filter => { and => leaf('key', 'eq', 'a') } }), 422, '22023', 'and of an object: 422');
err_is(search({ filter => { %{ leaf('key', 'eq', 'a') }, extra => 1 } }), 422, '22023', 'a leaf with an unknown key: 422');
err_is(search({ filter => [] }), 422, '22023', 'a filter that is an array: 422');
err_is(search({ limit => 0 }), 422, '22023', 'limit 0: 422');
err_is(search({ limit => 1001 }), 422, '22023', 'limit 1001: 422');
err_is(search({ limit => '10' }), 422, '22023', 'limit as a string: 422');
is(search({ limit => 1000 })->{status}, 200, 'limit 1000: 200');
err_is(search({ sort => [{ field => 'key', dir => 'sideways' }] }), 422, '22023', 'an unknown sort direction: 422');
err_is(search({ sort => [{ field => 'tags' }] }), 422, '22023', 'sort on tags: 422');
err_is(search({ sort => [{ field => 'nope' }] }), 422, '22023', 'sort on an unknown field: 422');
err_is(search({ fields => ['nope'] }), 422, '22023', 'fields with an unknown field: 422');
err_is(search({ fields => 'key' }), 422, '22023', 'fields that is not an array: 422');

# limits: 413 54000 (and the largest allowed still works)
my $deep = sub { my $n = shift; my $f = leaf('key', 'eq', 'app.a'); $f = { not => { not => $f } } for 1 .. $n / 2; $f };
is(search({ filter => $deep->(14) })->{status}, 200, '14 nested not: 200');
err_is(search({ filter => $deep->(18) }), 413, '54000', '18 nested not: 413');
my $nest_and = leaf('key', 'eq', 'app.a');
$nest_and = { and => [$nest_and] } for 1 .. 40;
err_is(search({ filter => $nest_and }), 413, '54000', '40 nested and: 413');
finds(search({ filter => { or => [(map { leaf('key', 'eq', "k$_") } 1 .. 63), leaf('key', 'eq', 'app.a')] } }), ['app.a'],
      '64 leaves: 200');
err_is(search({ filter => { or => [map { leaf('key', 'eq', "k$_") } 1 .. 65] } }), 413, '54000', '65 leaves: 413');
finds(search({ filter => leaf('key', 'in', [(map { "k$_" } 1 .. 999), 'zz']) }), ['zz'], 'in with 1000 elements: 200');
err_is(search({ filter => leaf('key', 'in', [map { "k$_" } 1 .. 1001]) }), 413, '54000', 'in with 1001 elements: 413');
err_is(search({ filter => leaf('metadata.a', 'eq', 'x' x 70000) }), 413, '54000', 'a value over 64 KiB: 413');
err_is(search({ filter => leaf('metadata.a', 'in', ['x' x 40000, 'y' x 40000]) }), 413, '54000', 'an in list over 64 KiB: 413');
err_is(search({ filter => leaf('metadata.' . join('.', ('a') x 33), 'exists') }), 413, '54000', '33 path segments: 413');
is(search({ filter => leaf('metadata.' . join('.', ('a') x 32), 'exists') })->{status}, 200, '32 path segments: 200');
err_is(search({ filter => leaf('metadata.' . ('a' x 257), 'exists') }), 413, '54000', 'a path segment of 257 bytes: 413');
err_is(search({ sort => [map { { field => $_ } } qw(owner version created_at updated_at key)] }), 413, '54000',
       '5 sort entries: 413');
is(search({ sort => [map { { field => $_ } } qw(owner version created_at updated_at)] })->{status}, 200, '4 sort entries: 200');
err_is(search({ fields => [map { "metadata.f$_" } 1 .. 33] }), 413, '54000', '33 fields: 413');
is(search({ fields => [map { "metadata.f$_" } 1 .. 32] })->{status}, 200, '32 fields: 200');

# ---------------------------------------------------------------- access
$res = search({}, key => undef);
err_is($res, 401, '28000', 'no API key: 401');
like($res->{headers}{'www-authenticate'} // '', qr/ApiKey/, '401 names the scheme');
err_is(search({}, key => 'ms_000000000000_' . ('A' x 43)), 401, '28000', 'an unknown API key: 401');
my $revoked = principal_key(uniq('srevoked'), [$ns, 'reader']);
psql("SELECT metastore.revoke_api_key('" . substr($revoked, 0, 15) . "')");
err_is(search({}, key => $revoked), 401, '28000', 'a revoked API key: 401');
finds(search({}, key => $r), \@all, 'a reader may search');
err_is(search({}, key => $r, ns => $ns2), 403, '42501', 'a reader of NS1 searching NS2: 403 42501');
err_is(search({ filter => leaf('key', 'eq', 'x') }, key => $r, ns => $ns2), 403, '42501',
       'also with a filter that matches nothing: 403 (no existence oracle)');
my $wonly = principal_key(uniq('swonly'), [$ns, 'writer']);
finds(search({}, key => $wonly), \@all, 'a writer (writer implies reader) may search');
err_is(search({}, key => $wonly, ns => $ns2), 403, '42501', 'a writer of NS1 searching NS2: 403');
finds(search({}, key => principal_key(uniq('sadmin'), [$ns, 'admin'])), \@all, 'an admin may search');
finds(search({}, key => principal_key(uniq('sdev'), [$ns, 'developer'])), \@all, 'developer implies reader: may search');
my $pat = uniq('spat');
my $pk = principal_key(uniq('spattern'), ["$pat.*", 'reader']);
is(search({}, key => $pk, ns => "$pat.sub")->{status}, 200, 'a reader of a pattern may search below it');
err_is(search({}, key => $pk, ns => "$pat-other"), 403, '42501', 'but not a sibling namespace');
finds(search({ filter => leaf('namespace', 'eq', $ns2) }, key => $r), [], 'a namespace filter cannot reach another namespace');
finds(search({ filter => leaf('namespace', 'in', [$ns, $ns2]) }, key => $r), \@all, 'a namespace in-list only sees its own');
req(PUT => "/records/only-in-2?namespace=$ns2", key => $w, body => { metadata => 1 });
finds(search({ filter => leaf('key', 'eq', 'only-in-2') }), [], 'records of another namespace never appear');
finds(search({}, ns => undef, headers => { 'x-namespace' => $ns }), \@all, 'X-Namespace selects the namespace');
finds(search({}, ns => $ns2, headers => { 'x-namespace' => $ns }), ['only-in-2'], '?namespace= wins over X-Namespace');
err_is(search({}, key => $r, ns => undef), 403, '42501', 'without a namespace: "default", which the reader may not read');
my $later = uniq('slater');
my $lk = principal_key($later, [$ns, 'reader']);
is(search({}, key => $lk)->{status}, 200, 'granted: 200');
psql("SELECT metastore.revoke('$later', '$ns', 'reader')");
err_is(search({}, key => $lk), 403, '42501', 'after revoke: 403 at once');
err_is(mlist([['namespace', $ns]], key => $lk), 403, '42501', 'list after revoke: 403 at once');

# ---------------------------------------------------------------- hostile input
my $before = psql($snapshot_sql);
my $sqlv = "x'; DROP TABLE metastore.records; --";
err_is(search({ filter => leaf("key'; DROP TABLE metastore.records; --", 'eq', 'a') }), 422, '22023',
       'a field name of SQL: 422');
err_is(search({ filter => leaf('key" OR 1=1 --', 'eq', 'a') }), 422, '22023', 'a field name with a double quote: 422');
err_is(search({ filter => leaf('k' x 100000, 'eq', 'a') }), 422, '22023', 'a field name of 100000 bytes: 422');
err_is(search({ filter => leaf('metadata.' . ('a' x 100000), 'eq', 'a') }), 413, '54000', 'a path segment of 100000 bytes: 413');
err_is(search({ filter => leaf('key', "eq'; DROP TABLE metastore.records; --", 'a') }), 422, '22023', 'an operator of SQL: 422');
err_is(search({ sort => [{ field => 'key; DROP TABLE metastore.records', dir => 'asc' }] }), 422, '22023',
       'a sort field of SQL: 422');
err_is(search({ sort => [{ field => 'key', dir => 'asc; DROP TABLE metastore.records' }] }), 422, '22023',
       'a sort direction of SQL: 422');
err_is(search({ fields => ['key) FROM metastore.records --'] }), 422, '22023', 'a projected field of SQL: 422');
finds(search({ filter => leaf('key', 'eq', "' OR '1'='1") }), [], 'a value of SQL is a value');
finds(search({ filter => leaf('metadata.it\'s', 'eq', $sqlv) }), ["q'uote"],
      'a path with a quote and a value of SQL match literally');
finds(search({ filter => leaf('metadata.name', 'in', ["alpha' OR '1'='1", "beta"]) }), ['app.b'], 'in values are values');
finds(search({ filter => leaf('key', 'prefix', 'app%') }), [], 'prefix % is not a wildcard');
finds(search({ filter => leaf('key', 'prefix', 'app_') }), [], 'prefix _ is not a wildcard');
finds(search({ filter => leaf('key', 'prefix', "q'") }), ["q'uote"], 'prefix with a quote');
finds(search({ filter => leaf('metadata.name', 'prefix', '%') }), [], 'metadata prefix % is not a wildcard');
finds(search({ filter => leaf('metadata.name', 'contains', '_') }), [], 'contains _ is not a wildcard');
finds(search({ filter => leaf('tags', 'array_contains', "a'b") }), ["q'uote"], 'a tag with a quote');
finds(search({ filter => leaf('metadata.a"b', 'exists') }), ["q'uote"], 'a path with a double quote (jsonpath)');
finds(search({ filter => leaf('metadata', 'has_key', 'a"b') }), ["q'uote"], 'has_key with a double quote');
finds(search({ filter => leaf('metadata.x"', 'exists') }), [], 'a path ending in a double quote');
finds(search({ filter => leaf('metadata.*', 'exists') }), [], 'a path segment * is a key, not a wildcard');
finds(search({ filter => leaf('metadata.x\\', 'exists') }), [], 'a path ending in a backslash');
finds(search({ filter => leaf('metadata.pool" ? (@ > 0) || $ ? (@ == 5', 'exists') }), [],
      'a path that would be jsonpath if spliced in is just a key');
finds(search({ filter => leaf('metadata.pool\') OR true --', 'eq', 1) }), [], 'a path of SQL is just a key');
err_is(search({}, ns => "x'; DROP TABLE metastore.records; --"), 422, '22023', 'a namespace of SQL: 422');
err_is(search('{"filter": {"field": "key", "op": "eq", "value": "' . "\xff\xfe" . '"}}'), 400, '22021',
       'a body that is not UTF-8: 400 22021');
err_is(search(qq({"filter": {"field": "key", "op": "eq", "value": "a\x00b"}})), 400, '22021', 'a NUL byte in the body: 400 22021');
is(search('{"filter": {"field": "key", "op": "eq", "value": "a\\u0000b"}}')->{status}, 400, 'an escaped NUL: 400');
is(search('{"filter": {"field": "key", "op": "eq", "value": "\\ud800"}}')->{status}, 400, 'a lone surrogate: 400');
err_is(search('{"filter": {"field": "key", "op": "eq", "value": "' . ('x' x (1024 * 1024 + 10)) . '"}}'), 413, '54000',
       'a body over 1 MiB: 413 54000');
err_is(search('{"filter": ' . ('{"not": ' x 5000) . '{}' . ('}' x 5000) . '}'), 413, '54000',
       'a filter nested 5000 deep: 413');
$res = search('[' x 100000);
like($res->{status}, qr/^(400|413)$/, 'a body of 100000 open brackets: 400 or 413, not 500') or diag($res->{raw});
is(psql($snapshot_sql), $before, 'hostile requests changed nothing (count, versions, updated_at, table)');
is(req(GET => "/records/app.a?namespace=$ns", key => $r)->{body}{metadata}{pool}, 10, 'and the store still answers');

# ---------------------------------------------------------------- GET /api/v1/metadata
$res = mlist([['namespace', $ns]]);
is($res->{status}, 200, 'GET /api/v1/metadata: 200');
finds($res, \@all, 'lists every live entry, sorted by key (the soft-deleted one absent)');
ok(exists $res->{body}{next_cursor} && !defined $res->{body}{next_cursor}, 'one page: next_cursor null');
($item) = grep { $_->{key} eq 'app.a' } @{ $res->{body}{items} || [] };
is_deeply($item, req(GET => '/api/v1/metadata/' . ($item->{id} // 0), key => $w)->{body},
          'an item is exactly what GET /api/v1/metadata/{id} shows');
ok($item && exists $item->{value} && !exists $item->{metadata}, 'the document is "value"');
finds(mlist([['namespace', $ns], ['prefix', 'app.']]), ['app.a', 'app.b', 'app.c', 'app.d'], 'prefix');
finds(mlist([['namespace', $ns], ['prefix', 'app%']]), [], 'prefix is literal (%)');
finds(mlist([['namespace', $ns], ['prefix', "q'"]]), ["q'uote"], 'prefix with a quote');
finds(mlist([['namespace', $ns], ['tags', 'db']]), ['app.a', 'app.b', 'db.x', 'db.y'], 'tags: one tag');
finds(mlist([['namespace', $ns], ['tags', 'db,cache']]), ['app.a'], 'tags=a,b: entries with all of them');
finds(mlist([['namespace', $ns], ['tags', 'cache,db']]), ['app.a'], 'tags in any order');
finds(mlist([['namespace', $ns], ['tags', "a'b"]]), ["q'uote"], 'a tag with a quote');
finds(mlist([['namespace', $ns], ['owner', 'alice']]), ['app.a', 'app.d'], 'owner');
finds(mlist([['namespace', $ns], ['owner', "alice' OR '1'='1"]]), [], 'an owner of SQL is a value');
finds(mlist([['namespace', $ns], ['prefix', 'app.'], ['tags', 'db'], ['owner', 'bob']]), ['app.b'],
      'prefix, tags and owner combined');
finds(mlist([['namespace', $ns], ['prefix', 'db.'], ['tags', 'db']]), ['db.x', 'db.y'], 'prefix and tags');
finds(mlist([['namespace', $ns], ['tags', 'cache'], ['owner', 'alice']]), ['app.a'], 'tags and owner (not the deleted one)');
finds(mlist([['namespace', $ns], ['limit', '2']]), ['app.a', 'app.b'], 'limit');
($keys, $pages, $problems) = walk_list([['namespace', $ns], ['limit', '3']]);
is_deeply([$keys, $pages, $problems], [\@all, 3, []], 'pages of 3 walked with cursors until null');
($keys, $pages, $problems) = walk_list([['namespace', $ns], ['tags', 'db'], ['limit', '1']]);
is_deeply([$keys, $problems], [['app.a', 'app.b', 'db.x', 'db.y'], []], 'pages of 1 with a tags filter');
($keys, $pages, $problems) = walk_list([['namespace', $ns], ['prefix', 'app.'], ['limit', '2']]);
is_deeply([$keys, $pages, $problems], [['app.a', 'app.b', 'app.c', 'app.d'], 2, []],
          'a list page that ends at the last match has next_cursor null (no empty trailing page)');
($keys, $pages, $problems) = walk_list([['namespace', $ns], ['prefix', 'app.'], ['owner', 'alice'], ['limit', '1']]);
is_deeply([$keys, $problems], [['app.a', 'app.d'], []], 'pages of 1 with prefix and owner');
is(mlist([['namespace', $ns], ['limit', '1000']])->{status}, 200, 'limit=1000: 200');
finds(mlist([], headers => { 'x-namespace' => $ns }), \@all, 'X-Namespace selects the namespace');
finds(mlist([['namespace', $ns2]], headers => { 'x-namespace' => $ns }), ['only-in-2'], '?namespace= wins over X-Namespace');

$res = mlist([['namespace', $ns], ['bogus', '1']]);
err_is($res, 422, '22023', 'an unknown query parameter: 422');
err_is(mlist([['namespace', $ns], ['tag', 'db']]), 422, '22023', 'a misspelt parameter (tag): 422');
err_is(mlist([['namespace', $ns], ['limit', '0']]), 422, '22023', 'limit=0: 422');
err_is(mlist([['namespace', $ns], ['limit', '1001']]), 422, '22023', 'limit=1001: 422');
err_is(mlist([['namespace', $ns], ['limit', '-1']]), 422, '22023', 'limit=-1: 422');
like(mlist([['namespace', $ns], ['limit', '1; DROP TABLE metastore.records']])->{status}, qr/^(400|422)$/,
     'limit that is not a number: 400 or 422');
$res = mlist([['namespace', $ns], ['prefix', 'app.'], ['limit', '2']]);
err_is(mlist([['namespace', $ns], ['prefix', 'db.'], ['limit', '2'], ['cursor', $res->{body}{next_cursor} // 'x']]),
       400, 'MS400', 'a list cursor reused with another prefix: 400 MS400');
err_is(mlist([['namespace', $ns], ['cursor', 'not-a-cursor']]), 400, 'MS400', 'a made-up list cursor: 400 MS400');
err_is(mlist([['namespace', $ns], ['prefix', "\xff"]]), 400, '22021', 'a query string that is not UTF-8: 400 22021');
err_is(mlist([['namespace', "x'; DROP TABLE metastore.records; --"]]), 422, '22023', 'a namespace of SQL: 422');
$res = mlist([['namespace', $ns]], key => undef);
err_is($res, 401, '28000', 'list without an API key: 401');
err_is(mlist([['namespace', $ns]], key => 'ms_000000000000_' . ('A' x 43)), 401, '28000', 'list with an unknown key: 401');
finds(mlist([['namespace', $ns]], key => $r), \@all, 'a reader may list');
err_is(mlist([['namespace', $ns2]], key => $r), 403, '42501', 'a reader of NS1 listing NS2: 403 42501');
err_is(mlist([], key => $r), 403, '42501', 'without a namespace: "default", which the reader may not read');
finds(mlist([['namespace', $ns]], key => $wonly), \@all, 'a writer may list');
is(psql($snapshot_sql), $before, 'nothing of all this changed the namespace');

# ---------------------------------------------------------------- routing and the contract
like(req(OPTIONS => '/records/search')->{headers}{allow} // '', qr/POST/, 'OPTIONS /records/search allows POST');
like(req(OPTIONS => '/api/v1/metadata')->{headers}{allow} // '', qr/GET.*POST|POST.*GET/, 'OPTIONS /api/v1/metadata allows GET and POST');
my $api = req(GET => '/openapi.json')->{body} // {};
ok($api->{paths}{'/records/search'}{post} && $api->{paths}{'/api/v1/metadata'}{get},
   'openapi.json documents POST /records/search and GET /api/v1/metadata');

done_testing();
