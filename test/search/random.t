#!/usr/bin/env perl
# Randomized differential test of metastore.search_records (docs/search.md).
#
# Loads ~640 records with awkward data into its own database (metastore_random,
# ICU en-US collation when available, so that "by code point" is tested), soft-
# deletes some, then runs a few thousand random filters (and a few hundred paged,
# sorted searches, some with writes between the pages) through search_records
# and compares every answer with a plain Perl reference evaluator of the filter
# language written from docs/search.md.  One TAP test per group of ~100 runs; a
# mismatch prints the query and the keys only the database or only the
# reference returned.  Every call to the database is one psql script.
#
#   prove --verbose test/search/random.t            (under pg_virtualenv)
#   METASTORE_SEARCH_SEED=123 prove ...             another seed (printed at the start)
#   METASTORE_SEARCH_FILTERS / _PAGED / _WRITES     how many runs of each kind
#   METASTORE_SEARCH_DUMP=file                      write every query to file
#   METASTORE_SEARCH_KEEP=1                         keep the database afterwards
#
# Core Perl only.  psql must be on PATH; PGHOST/PGPORT/PGUSER name a cluster with
# the extension installed, whose user is a superuser.
use strict;
use warnings;
use utf8;
use Test::More;
use List::Util qw(shuffle sum0 max min any all first uniq);
use Encode qw(encode decode);
use File::Temp qw(tempdir);
use Time::Local qw(timegm);
use Time::HiRes ();

my $T0 = Time::HiRes::time();
my $SEED = $ENV{METASTORE_SEARCH_SEED} // 20261122;
my $DB   = 'metastore_random';
my $N_RANDOM = $ENV{METASTORE_SEARCH_FILTERS} // 3000;   # random filters (full result)
my $N_PAGED  = $ENV{METASTORE_SEARCH_PAGED}   // 320;    # random filters with sort + small pages
my $N_WRITES = $ENV{METASTORE_SEARCH_WRITES}  // 160;    # the same, with writes between the pages
$ENV{PGCLIENTENCODING} = 'UTF8';
srand($SEED);    # before anything random, so that a seed repeats the whole run

{
    my $b = Test::More->builder;
    binmode $b->output,         ':encoding(UTF-8)';
    binmode $b->failure_output, ':encoding(UTF-8)';
    binmode $b->todo_output,    ':encoding(UTF-8)';
}

# text for diagnostics: invisible and noncharacter code points as \x{...}
sub vis {
    my $s = shift;
    $s =~ s/([^\x20-\x7e\x{a0}-\x{d7ff}\x{e000}-\x{fdcf}\x{fdf0}-\x{fffd}\x{10000}-\x{10fffd}]|[\x{1fffe}\x{1ffff}\x{2fffe}\x{2ffff}])/sprintf('\\x{%X}', ord $1)/ge;
    return $s;
}

diag("seed $SEED (set METASTORE_SEARCH_SEED to repeat or change it)");

# ---------------------------------------------------------------- randomness
sub chance { rand() < $_[0] }
sub rint   { int(rand($_[0])) }
sub pick   { $_[ rint(scalar @_) ] }
# wpick(name => weight, ...): pairs in a fixed order, so a seed repeats
sub wpick {
    my @p = @_;
    my $tot = 0;
    for (my $i = 1; $i < @p; $i += 2) { $tot += $p[$i] }
    my $x = rand($tot);
    for (my $i = 0; $i < @p; $i += 2) {
        return $p[$i] if ($x -= $p[ $i + 1 ]) < 0;
    }
    return $p[-2];
}

# ---------------------------------------------------------------- JSON nodes
# A JSON value is a tagged array, so that types survive Perl:
#   ['null'] ['bool', 0|1] ['num', value, text] ['str', s] ['arr', [..]] ['obj', {..}]
sub NUL { ['null'] }
sub B   { ['bool', $_[0] ? 1 : 0] }
sub N   { my $t = "$_[0]"; ['num', 0 + $t, $t] }
sub S   { ['str', $_[0]] }
sub A   { ['arr', [@_]] }
sub O   { my %h = @_; ['obj', \%h] }

sub jstr {
    my $s = shift;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord $1)/ge;
    return qq("$s");
}

sub jenc {
    my $n = shift;
    my $t = $n->[0];
    return 'null' if $t eq 'null';
    return $n->[1] ? 'true' : 'false' if $t eq 'bool';
    return $n->[2] if $t eq 'num';
    return jstr($n->[1]) if $t eq 'str';
    return '[' . join(',', map { jenc($_) } @{ $n->[1] }) . ']' if $t eq 'arr';
    return '{' . join(',', map { jstr($_) . ':' . jenc($n->[1]{$_}) } sort keys %{ $n->[1] }) . '}';
}

my %ESC = ('"' => '"', '\\' => '\\', '/' => '/', b => "\b", f => "\f", n => "\n", r => "\r", t => "\t");

sub jparse {
    my $s = shift;
    pos($s) = 0;
    my $v = _jv(\$s);
    $s =~ /\G\s*/gc;
    die "JSON: trailing text at " . pos($s) . "\n" if pos($s) != length $s;
    return $v;
}

sub _jstring {
    my $r = shift;
    $$r =~ /\G"/gc or die "JSON: string expected at " . pos($$r) . "\n";
    my $out = '';
    while (1) {
        if    ($$r =~ /\G([^"\\]+)/gc)          { $out .= $1 }
        elsif ($$r =~ /\G"/gc)                  { return $out }
        elsif ($$r =~ /\G\\u([0-9a-fA-F]{4})/gc) {
            my $c = hex $1;
            if ($c >= 0xD800 && $c < 0xDC00 && $$r =~ /\G\\u([dD][c-fC-F][0-9a-fA-F]{2})/gc) {
                $c = 0x10000 + (($c - 0xD800) << 10) + (hex($1) - 0xDC00);
            }
            $out .= chr $c;
        }
        elsif ($$r =~ /\G\\(["\\\/bfnrt])/gc) { $out .= $ESC{$1} }
        else { die "JSON: bad string at " . pos($$r) . "\n" }
    }
}

sub _jv {
    my $r = shift;
    $$r =~ /\G\s*/gc;
    if ($$r =~ /\G\{/gc) {
        my %o;
        $$r =~ /\G\s*/gc;
        return ['obj', \%o] if $$r =~ /\G\}/gc;
        while (1) {
            $$r =~ /\G\s*/gc;
            my $k = _jstring($r);
            $$r =~ /\G\s*:/gc or die "JSON: ':' expected at " . pos($$r) . "\n";
            $o{$k} = _jv($r);
            $$r =~ /\G\s*/gc;
            next if $$r =~ /\G,/gc;
            last if $$r =~ /\G\}/gc;
            die "JSON: bad object at " . pos($$r) . "\n";
        }
        return ['obj', \%o];
    }
    if ($$r =~ /\G\[/gc) {
        my @a;
        $$r =~ /\G\s*/gc;
        return ['arr', \@a] if $$r =~ /\G\]/gc;
        while (1) {
            push @a, _jv($r);
            $$r =~ /\G\s*/gc;
            next if $$r =~ /\G,/gc;
            last if $$r =~ /\G\]/gc;
            die "JSON: bad array at " . pos($$r) . "\n";
        }
        return ['arr', \@a];
    }
    return ['str', _jstring($r)] if substr($$r, pos($$r), 1) eq '"';
    return ['num', 0 + $1, $1] if $$r =~ /\G(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/gc;
    return ['bool', 1] if $$r =~ /\Gtrue/gc;
    return ['bool', 0] if $$r =~ /\Gfalse/gc;
    return ['null'] if $$r =~ /\Gnull/gc;
    die "JSON: unexpected text at " . pos($$r) . ": " . substr($$r, pos($$r), 40) . "\n";
}

# plain Perl data (for our own documents: query results)
sub plain {
    my $n = shift;
    my $t = $n->[0];
    return undef if $t eq 'null';
    return $n->[1] if $t eq 'bool' || $t eq 'num' || $t eq 'str';
    return [map { plain($_) } @{ $n->[1] }] if $t eq 'arr';
    return { map { ($_ => plain($n->[1]{$_})) } keys %{ $n->[1] } };
}

# ---------------------------------------------------------------- JSON semantics
sub is_scalar { my $t = $_[0][0]; $t ne 'arr' && $t ne 'obj' }

# deep equality; numbers by value (1 = 1.0), arrays in order, objects by key set
sub jeq {
    my ($x, $y) = @_;
    my $t = $x->[0];
    return 0 if $t ne $y->[0];
    return 1 if $t eq 'null';
    return $x->[1] == $y->[1] ? 1 : 0 if $t eq 'num' || $t eq 'bool';
    return $x->[1] eq $y->[1] ? 1 : 0 if $t eq 'str';
    if ($t eq 'arr') {
        my ($a, $b) = ($x->[1], $y->[1]);
        return 0 if @$a != @$b;
        for my $i (0 .. $#$a) { return 0 unless jeq($a->[$i], $b->[$i]) }
        return 1;
    }
    my ($a, $b) = ($x->[1], $y->[1]);
    return 0 if keys %$a != keys %$b;
    for my $k (keys %$b) {
        return 0 unless exists $a->{$k} && jeq($a->{$k}, $b->{$k});
    }
    return 1;
}

# PostgreSQL jsonb containment (a @> b) of a value nested in a document:
# scalars must be equal scalars of the same type; objects contain by key
# subset (recursively); an array contains another when each scalar element of
# the right is an equal scalar element of the left, and each container element
# of the right is contained in some container element of the left.
sub pgc {
    my ($a, $b) = @_;
    my $tb = $b->[0];
    if ($tb eq 'obj') {
        return 0 unless $a->[0] eq 'obj';
        my ($ah, $bh) = ($a->[1], $b->[1]);
        for my $k (keys %$bh) {
            my $av = $ah->{$k};
            return 0 unless $av && pgc($av, $bh->{$k});
        }
        return 1;
    }
    if ($tb eq 'arr') {
        return 0 unless $a->[0] eq 'arr';
        for my $e (@{ $b->[1] }) {
            if (is_scalar($e)) {
                return 0 unless any { is_scalar($_) && jeq($_, $e) } @{ $a->[1] };
            }
            else {
                return 0 unless any { !is_scalar($_) && pgc($_, $e) } @{ $a->[1] };
            }
        }
        return 1;
    }
    return is_scalar($a) && jeq($a, $b) ? 1 : 0;
}

# `#>`-style lookup as docs/search.md defines it: an object segment names a
# key (digits included); on an array a segment PostgreSQL reads as an integer
# (leading spaces, optional sign, digits) indexes it, negative from the end.
our $AMBIG = 0;    # kept for the callers; no segment is ambiguous any more
sub lookup {
    my ($n, $segs) = @_;
    for my $s (@$segs) {
        my $t = $n->[0];
        if ($t eq 'obj') {
            $n = $n->[1]{$s};
            return undef unless $n;
        }
        elsif ($t eq 'arr') {
            return undef unless $s =~ /^[ \t\n\r\f\x0b]*([+-]?)0*([0-9]+)$/;
            my ($sign, $digits) = ($1, $2);
            return undef if length($digits) > 10 || $digits > 2147483647 + ($sign eq '-' ? 1 : 0);
            my $i = $sign eq '-' ? -$digits : 0 + $digits;
            my $len = scalar @{ $n->[1] };
            $i += $len if $i < 0;
            return undef if $i < 0 || $i >= $len;
            $n = $n->[1][$i];
        }
        else { return undef }
    }
    return $n;
}

# ---------------------------------------------------------------- timestamps
# epoch microseconds <-> RFC 3339
sub fmt_ts {
    my ($us, $offmin, $frac, $z) = @_;
    my $sec   = int($us / 1_000_000);
    my $micro = $us - $sec * 1_000_000;
    my @g = gmtime($sec + $offmin * 60);
    my $s = sprintf('%04d-%02d-%02dT%02d:%02d:%02d', $g[5] + 1900, $g[4] + 1, $g[3], $g[2], $g[1], $g[0]);
    if    ($frac == 6) { $s .= sprintf('.%06d', $micro) }
    elsif ($frac == 3) { $s .= sprintf('.%03d', int($micro / 1000)) }
    elsif ($frac == 1) { $s .= sprintf('.%d', int($micro / 100000)) }
    if ($offmin == 0 && $z) { $s .= 'Z' }
    else { $s .= sprintf('%s%02d:%02d', $offmin < 0 ? '-' : '+', int(abs($offmin) / 60), abs($offmin) % 60) }
    return $s;
}

sub fmt_date {
    my ($us) = @_;
    my @g = gmtime(int($us / 1_000_000));
    return sprintf('%04d-%02d-%02d', $g[5] + 1900, $g[4] + 1, $g[3]);
}

sub parse_ts {
    my $s = shift;
    $s =~ /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:(Z)|([+-])(\d\d):(\d\d)))?$/
      or die "not a timestamp we generate: $s\n";
    my $sec = timegm($6 // 0, $5 // 0, $4 // 0, $3, $2 - 1, $1);
    my $us  = $sec * 1_000_000 + (defined $7 ? substr($7 . '000000', 0, 6) : 0);
    if (defined $9) {
        my $off = ($10 * 60 + $11) * 60 * 1_000_000;
        $us += $9 eq '+' ? -$off : $off;
    }
    return $us;
}

# ---------------------------------------------------------------- psql
my $TMP = tempdir('metastore-random-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $NCALL = 0;

sub slurp_bytes { my $f = shift; open my $fh, '<:raw', $f or die "$f: $!"; local $/; my $s = <$fh>; $s // '' }
# lax UTF-8 (Perl's "utf8"): noncharacters such as U+10FFFF are valid text, and strict "UTF-8" would replace them
sub spew_utf8 { my ($f, $s) = @_; open my $fh, '>:raw', $f or die "$f: $!"; print $fh encode('utf8', $s); close $fh }

# run a script; returns (ok, stdout lines (decoded), stderr)
sub psql {
    my ($db, $sql) = @_;
    $NCALL++;
    my $base = "$TMP/call$NCALL";
    spew_utf8("$base.sql", $sql);
    my $rc = system("psql -X -q -A -t -v ON_ERROR_STOP=1 -d '$db' -f '$base.sql' >'$base.out' 2>'$base.err'");
    my $out = decode('utf8', slurp_bytes("$base.out"));
    my $err = decode('utf8', slurp_bytes("$base.err"));
    return ($rc == 0, [grep { length } split /\n/, $out], $err);
}

sub unhex { decode('utf8', pack('H*', $_[0])) }

sub sq { my $s = shift; $s =~ s/'/''/g; "'$s'" }

sub csv_field {
    my $v = shift;
    return '' unless defined $v;    # unquoted empty = NULL
    $v =~ s/"/""/g;
    return qq("$v");
}

# ================================================================ data
my @NAMESPACES = (['alpha', 200], ['beta', 160], ['beta.sub', 140], ['Gamma-1', 140]);

my @STR_POOL = (
    '', 'a', 'ab', 'abc', 'abd', 'A', 'Ab', 'ABC', 'b', 'z', 'Z', 'é', 'e', "e\x{301}", 'ß', 'ss', 'SS',
    'straße', 'strasse', '😀', '😀😀', 'x😀', 'prod', 'prod-eu', 'production', 'Prod', 'staging', 'dev',
    '10', '9', '100', '1.0', '-1', 'true', 'null', ' a', 'a ', "tab\there", "new\nline", 'quote"d',
    "back\\slash", "it's", '%', '_', 'a%b', 'a_b', "\x{FFFD}", "x\x{D7FF}", "x\x{E000}", 'ǅ', 'İ', 'ı',
    'Ω', 'ω', 'ﬀ', 'ff', '日本', '日本語', 'café', 'cafe', 'cafè', 'zoë', 'zoe', '2026-11-22T10:00:00Z',
    '2026-11-22', 'αβγ', 'αβ',
);
my @NUM_POOL = (
    '0', '1', '1.0', '1.00', '-1', '-0.5', '2', '2.5', '2.50', '3', '7', '8', '9', '10', '10.0', '10.5',
    '-10', '11', '20', '21', '42', '50', '99.99', '100', '1e2', '1E+2', '3.14159', '-273.15', '1000000',
    '0.001', '1e-3', '12345678901', '-0', '0.10', '0.5', '0.0',
);
my @KEY_VOCAB = (
    'env', 'pool', 'pool_size', 'poolsize', 'size', 'enabled', 'name', 'Name', 'nested', 'items', 'list',
    'matrix', 'mixed', 'deep', 'count', 'ratio', 'a', 'b', 'c', 'id', 'tags', 'x', '0', '1', '2', '01',
    '-1', 'é', 'ß', '😀', 'missing', 'level', 'sub', 'opt', 'ts', 'empty_obj', 'empty_arr',
);
my @SPECIAL_KEYS = ('we"ird', "back\\slash", 'sp ace', "it's", '$', '*', '@', 'é', 'ß', '😀', 'ünï',
    '', 'a.b', 'x.y', '[0]', "q'q", '$.a');
my @ENVS   = ('prod', 'prod-eu', 'production', 'Prod', 'staging', 'dev', 'é', '', 'PROD');
my @TAGS   = ('db', 'DB', 'cache', 'prod', 'prod-eu', 'production', 'staging', 'dev', 'é', 'e', 'ß',
    'ss', '😀', 'a b', 'x', 'x.y', 'tag-1', 'tag-10', 'tag-2', 'Ω', 'z', 'a%', 'a_');
my @OWNERS = ('alice', 'Alice', 'alice.b', 'bob', 'Bob', 'ålice', 'zoë', 'Zoe', '', 'team/x',
    'team/x/y', '日本', '😀', 'a%b', 'a_b', "o'neil");
my @PRINCIPALS = ('alice', 'bob.smith', 'Carol@example.com', 'dave-1');

sub rnum { N(pick(@NUM_POOL)) }
sub rstr { S(pick(@STR_POOL)) }

sub rscalar {
    my $k = wpick(s => 4, n => 4, b => 1, z => 1);
    return rstr() if $k eq 's';
    return rnum() if $k eq 'n';
    return B(chance(0.5)) if $k eq 'b';
    return NUL();
}

sub rv {
    my $d = shift;
    my $k = $d > 0 ? wpick(s => 7, a => 2, o => 2) : 's';
    return rscalar() if $k eq 's';
    return A(map { rv($d - 1) } 1 .. rint(4)) if $k eq 'a';
    my %o;
    $o{ pick(@KEY_VOCAB) } = rv($d - 1) for 1 .. rint(4);
    return ['obj', \%o];
}

sub gen_md {
    my $r = rand();
    if ($r < 0.045) {    # a top-level array: strings that are also key names, scalars, objects
        return A(map {
            wpick(k => 3, s => 2, o => 1) eq 'k' ? S(pick(@KEY_VOCAB[0 .. 15]))
              : chance(0.6) ? rscalar() : rv(2)
        } 0 .. rint(5));
    }
    if ($r < 0.075) { return wpick(s => 3, n => 2, t => 1, z => 1) =~ /s/ ? rstr() : rscalar() }
    my %o;
    $o{env}       = S(pick(@ENVS)) if chance(0.6);
    $o{pool}      = chance(0.85) ? rnum() : S(pick(@NUM_POOL)) if chance(0.5);
    $o{pool_size} = rnum() if chance(0.2);
    $o{poolsize}  = rnum() if chance(0.1);
    $o{'pool.size'} = rnum() if chance(0.05);
    $o{size} = wpick(n => 10, s => 5, b => 2, z => 2, c => 1) if chance(0.5);
    if (exists $o{size}) {
        my $k = $o{size};
        $o{size} = $k eq 'n' ? rnum() : $k eq 's' ? S(chance(0.5) ? pick(@NUM_POOL) : pick(@STR_POOL))
          : $k eq 'b' ? B(chance(0.5)) : $k eq 'z' ? NUL() : rv(2);
    }
    $o{enabled} = wpick(b => 8, z => 1, s => 1) if chance(0.4);
    if (exists $o{enabled}) {
        my $k = $o{enabled};
        $o{enabled} = $k eq 'b' ? B(chance(0.5)) : $k eq 'z' ? NUL() : S('true');
    }
    $o{name}    = rstr() if chance(0.5);
    $o{Name}    = rstr() if chance(0.1);
    $o{'name '} = rstr() if chance(0.03);
    $o{count}   = N(rint(26) - 5) if chance(0.3);
    $o{ratio}   = N(pick('0.5', '0.25', '0.75', '1.5', '-0.5', '0.125', '2.0', '0.1', '0.10')) if chance(0.2);
    $o{ts}      = S(fmt_ts(1_700_000_000_000_000 + rint(100_000_000) * 1_000_000, 0, 0, 1)) if chance(0.1);
    if (chance(0.4)) {
        my %n;
        $n{a} = O(b => rscalar(), c => A(map { rscalar() } 1 .. rint(4))) if chance(0.7);
        $n{a} = A(O(b => rscalar())) if !exists $n{a} && chance(0.2);    # lax-unwrap trap
        $n{level} = rnum() if chance(0.5);
        $n{tags}  = A(map { S(pick(@TAGS)) } 1 .. rint(4)) if chance(0.4);
        $n{0}     = rscalar() if chance(0.2);
        $n{1}     = O(x => rscalar()) if chance(0.15);
        $n{'x.y'} = N(1) if chance(0.1);
        $n{empty} = chance(0.5) ? O() : A() if chance(0.2);
        $n{ pick(@KEY_VOCAB) } = rv(2) if chance(0.3);
        $o{nested} = ['obj', \%n];
    }
    if (chance(0.35)) {
        my @it;
        for my $i (0 .. rint(5) - 1) {
            my %e = (id => N(chance(0.8) ? rint(6) : pick(@NUM_POOL)));
            $e{name} = rstr() if chance(0.7);
            $e{tags} = A(map { S(pick(@TAGS)) } 1 .. rint(3)) if chance(0.4);
            $e{opt}  = rscalar() if chance(0.2);
            $e{sub}  = O(k => rscalar(), l => A(rscalar())) if chance(0.2);
            push @it, ['obj', \%e];
        }
        $o{items} = ['arr', \@it];
    }
    elsif (chance(0.08)) {
        $o{items} = O('0' => O(id => N(rint(4))), '1' => O(id => N(rint(4)), name => rstr()));
    }
    elsif (chance(0.05)) {
        $o{items} = S('none');
    }
    $o{list}   = A(map { rscalar() } 1 .. rint(6)) if chance(0.35);
    $o{matrix} = A(map { A(map { rnum() } 1 .. rint(4)) } 1 .. rint(4)) if chance(0.15);
    $o{mixed}  = rv(3) if chance(0.4);
    $o{0}      = rscalar() if chance(0.1);
    $o{1}      = rv(1) if chance(0.05);
    $o{'01'}   = rscalar() if chance(0.05);
    $o{'-1'}   = rscalar() if chance(0.05);
    for my $k (@SPECIAL_KEYS) { $o{$k} = chance(0.7) ? rscalar() : rv(2) if chance(0.04) }
    $o{deep} = O(l1 => O(l2 => O(l3 => O(l4 => rscalar())))) if chance(0.15);
    $o{empty_obj} = O() if chance(0.05);
    $o{empty_arr} = A() if chance(0.05);
    return ['obj', \%o];
}

sub mutate_md {
    my $md = shift;
    return gen_md() if $md->[0] ne 'obj' || chance(0.4);
    my %o = %{ $md->[1] };
    for (1 .. 1 + rint(3)) {
        my $k = pick(sort keys %o) // 'pool';
        if (chance(0.3)) { delete $o{$k} }
        else { $o{ chance(0.5) ? $k : pick(@KEY_VOCAB) } = rv(2) }
    }
    $o{pool} = rnum() if chance(0.3);
    return ['obj', \%o];
}

# keys: awkward ones (shared across namespaces) and generated ones
my @KEYS_SPECIAL = (
    'app', 'app.db', 'app.db.primary', 'app.db.replica', 'App', 'APP.db', 'app/é', 'app/e', "app/e\x{301}",
    'appß', 'apps', 'app ss', 'café', 'cafe', 'caff', 'cafè', 'emoji/😀', 'emoji/😀/x', 'emoji/😁',
    'k1', 'k10', 'k2', 'k9', 'K1', 'a', 'a b', 'a%b', 'a_b', 'a\\b', "quote'd", 'dq"x', 'z', 'Z', 'zz',
    'ω', 'Ω', '日本/東京', '日本', "x\x{D7FF}", "x\x{D7FF}y", "x\x{E000}", "x\x{FFFD}", "x\x{10FFFF}",
    "x\x{10FFFF}y", 'datasets/orders', 'datasets/orders/2024', 'datasets/Orders', '~', '~~', ' lead',
    'trail ', '0', '00', '1', '10', '9',
);
my @KEYS_GEN;
{
    my %seen = map { $_ => 1 } @KEYS_SPECIAL;
    my @w = ('db', 'cache', 'api', 'Api', 'queue', 'é', 'ß', 'x', 'svc', 'Svc');
    for my $w (@w) {
        for my $i (0 .. 40) {
            my $k = pick("svc/$w/$i", "svc.$w.$i", "$w/$i", "$w-$i", "svc/$w/$i/x");
            push @KEYS_GEN, $k unless $seen{$k}++;
        }
    }
}


# the records we put, per namespace
my @PUTS;    # [ns, key, md, tags, owner, ct]
for my $nsd (@NAMESPACES) {
    my ($ns, $n) = @$nsd;
    my @keys = grep { chance(0.7) } @KEYS_SPECIAL;
    my @gen  = shuffle(@KEYS_GEN);
    push @keys, shift @gen while @keys < $n;
    for my $key (@keys) {
        my $md = gen_md();
        my $ct = 'json';
        $ct = pick('text', 'yaml') if $md->[0] eq 'str' && chance(0.4);
        push @PUTS, {
            ns => $ns, key => $key, md => $md,
            tags  => [map { pick(@TAGS) } 1 .. wpick(0 => 3, 1 => 4, 2 => 3, 3 => 2, 5 => 1)],
            owner => chance(0.3) ? undef : pick(@OWNERS), ct => $ct,
        };
    }
}

sub put_stmt {
    my $p = shift;
    my $tags = @{ $p->{tags} } ? 'ARRAY[' . join(',', map { sq($_) } @{ $p->{tags} }) . ']::text[]' : "'{}'::text[]";
    return sprintf("SELECT 1 FROM metastore.put_record(namespace => %s, key => %s, metadata => %s::jsonb, "
          . "tags => %s, owner => %s, content_type => %s);\n",
        sq($p->{ns}), sq($p->{key}), sq(jenc($p->{md})), $tags,
        defined $p->{owner} ? sq($p->{owner}) : 'NULL', sq($p->{md}[0] eq 'str' ? $p->{ct} : 'json'));
}

# principals with API keys, so that created_by / updated_by vary
my @KEYED;    # [principal, api key]
{
    my $sql = join '', map {
        "SELECT metastore.\"grant\"(" . sq($_) . ", '*', 'writer');\n"
          . "SELECT " . sq($_) . " || E'\\t' || api_key FROM metastore.create_api_key(" . sq($_) . ");\n"
    } @PRINCIPALS;
    my ($ok, $out, $err);
    my ($cok, undef, $cerr) = psql('postgres',
        "DROP DATABASE IF EXISTS $DB WITH (FORCE);\n"
          . "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8';\n");
    if (!$cok) {
        diag("no ICU database ($cerr); using the default collation");
        ($cok, undef, $cerr) = psql('postgres',
            "DROP DATABASE IF EXISTS $DB WITH (FORCE);\nCREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8';\n");
        BAIL_OUT("cannot create database $DB: $cerr") unless $cok;
    }
    ($ok, undef, $err) = psql($DB, "CREATE EXTENSION metastore;\n");
    BAIL_OUT("CREATE EXTENSION metastore failed: $err") unless $ok;
    ($ok, $out, $err) = psql($DB, $sql);
    if ($ok) { @KEYED = map { [split /\t/, $_, 2] } grep { /\t/ } @$out }
    else { diag("no API keys (is metastore.server_secret_file set?): $err; every write is the session user's") }
}

my $load = "\\o /dev/null\n";
{
    # transactions of up to 25 writes, each under one principal (or the session user)
    my @stmts;
    my $flush = sub {
        return unless @stmts;
        my $who = (@KEYED && chance(0.75)) ? pick(@KEYED) : undef;
        $load .= "BEGIN;\n";
        $load .= "SELECT metastore.authenticate(" . sq($who->[1]) . ");\n" if $who;
        $load .= join '', @stmts;
        $load .= "COMMIT;\n";
        @stmts = ();
    };
    for my $p (shuffle @PUTS) {
        push @stmts, put_stmt($p);
        $flush->() if @stmts >= 1 + rint(25);
    }
    $flush->();
    # updates: new content (some twice), some identical puts (no new version)
    for my $p (grep { chance(0.35) } @PUTS) {
        for (1 .. (chance(0.15) ? 2 : 1)) {
            my $what = wpick(md => 5, tags => 2, owner => 2, same => 1);
            $p->{md} = mutate_md($p->{md}) if $what eq 'md';
            $p->{tags} = [map { pick(@TAGS) } 1 .. rint(4)] if $what eq 'tags';
            $p->{owner} = chance(0.3) ? undef : pick(@OWNERS) if $what eq 'owner';
            push @stmts, put_stmt($p);
            $flush->() if @stmts >= 1 + rint(15);
        }
    }
    $flush->();
    # soft deletes; some keys come back (restore), some of those are deleted again
    my @del = grep { chance(0.13) } @PUTS;
    for my $p (@del) {
        push @stmts, sprintf("SELECT 1 FROM metastore.delete_record(%s, %s);\n", sq($p->{ns}), sq($p->{key}));
        $flush->() if @stmts >= 1 + rint(15);
    }
    $flush->();
    for my $p (grep { chance(0.3) } @del) {
        $p->{md} = mutate_md($p->{md}) if chance(0.5);
        push @stmts, put_stmt($p);
        push @stmts, sprintf("SELECT 1 FROM metastore.delete_record(%s, %s);\n", sq($p->{ns}), sq($p->{key}))
          if chance(0.2);
        $flush->() if @stmts >= 1 + rint(15);
    }
    $flush->();

    # Timestamps: every write of one transaction has the same now(), and a test
    # run lasts seconds.  To exercise dates, offsets and ties (and so that a seed
    # repeats), every record gets created_at / updated_at from a small pool of
    # instants (written directly, with the history trigger off: the table is the
    # search's only input).
    my @pool = map { parse_ts($_) } (
        '2026-11-22T00:00:00Z', '2026-11-22T10:00:00Z', '2026-11-21T23:59:59.999999Z',
        '2024-02-29T12:34:56.789Z', '2025-12-31T23:30:00Z', '2026-01-01T00:00:00Z',
        '1999-12-31T23:59:59Z', '2030-06-15T08:00:00.5Z', '2026-11-22T10:00:00.000001Z',
    );
    push @pool, 1_735_689_600_000_000 + rint(63_072_000) * 1_000_000 + (chance(0.5) ? rint(1_000_000) : 0)
      for 1 .. 25;
    @pool = sort { $a <=> $b } @pool;
    my @rows;
    for my $p (@PUTS) {
        my $ci = rint(scalar @pool);
        my $ui = chance(0.3) ? $ci : $ci + rint(@pool - $ci);
        push @rows, sprintf('(%s, %s, %s::timestamptz, %s::timestamptz)', sq($p->{ns}), sq($p->{key}),
            sq(fmt_ts($pool[$ci], 0, 6, 1)), sq(fmt_ts($pool[$ui], 0, 6, 1)));
    }
    $load .= "SET session_replication_role = replica;\n"
      . "UPDATE metastore.records r SET created_at = v.c, updated_at = v.u FROM (VALUES\n"
      . join(",\n", @rows) . ") v(ns, key, c, u) WHERE r.namespace = v.ns AND r.key = v.key;\n"
      . "RESET session_replication_role;\nANALYZE metastore.records;\n";
}
{
    my ($ok, undef, $err) = psql($DB, $load);
    ok($ok, 'records loaded') or BAIL_OUT("loading failed: $err");
}

# ---------------------------------------------------------------- what the database holds
my (@LIVE, %DELETED);
{
    # hex: psql drops some code points (U+10FFFF) from what it prints
    my ($ok, $out, $err) = psql($DB,
        "SELECT encode(convert_to(json_build_object('ns', namespace, 'key', key, 'owner', owner, 'version', version,"
          . " 'ca', (extract(epoch FROM created_at) * 1000000)::bigint,"
          . " 'ua', (extract(epoch FROM updated_at) * 1000000)::bigint,"
          . " 'cb', created_by, 'ub', updated_by, 'tags', tags, 'md', metadata,"
          . " 'del', deleted_at IS NOT NULL)::text, 'UTF8'), 'hex') FROM metastore.records ORDER BY id;\n");
    ok($ok, 'records fetched') or BAIL_OUT("fetch failed: $err");
    for my $line (@$out) {
        my $j  = jparse(unhex($line))->[1];
        my $ns = $j->{ns}[1];
        my $key = $j->{key}[1];
        if ($j->{del}[1]) { $DELETED{"$ns\t$key"} = 1; next }
        my @tags = map { $_->[1] } @{ $j->{tags}[1] };
        push @LIVE, {
            id => "$ns\t$key", ns => $ns, key => $key,
            owner => $j->{owner}[0] eq 'null' ? undef : $j->{owner}[1],
            version => $j->{version}[1], ca => $j->{ca}[2] + 0, ua => $j->{ua}[2] + 0,
            cb => $j->{cb}[1], ub => $j->{ub}[1],
            tags => \@tags, tagset => { map { $_ => 1 } @tags }, md => $j->{md},
        };
    }
    my %nsn;
    $nsn{ $_->{ns} }++ for @LIVE;
    note(sprintf('%d live records (%s), %d soft-deleted', scalar @LIVE,
        join(', ', map { "$_: $nsn{$_}" } sort keys %nsn), scalar keys %DELETED));
    ok(@LIVE > 400 && keys(%DELETED) > 20, 'enough live and deleted records');
}
my %BYNS;
push @{ $BYNS{ $_->{ns} } }, $_ for @LIVE;
my @NS_NAMES = sort keys %BYNS;

# ================================================================ reference evaluator
my %COL = (key => 'key', namespace => 'ns', owner => 'owner', created_by => 'cb', updated_by => 'ub',
    version => 'version', created_at => 'ca', updated_at => 'ua');
my %KIND = (key => 'str', namespace => 'str', owner => 'str', created_by => 'str', updated_by => 'str',
    version => 'num', created_at => 'ts', updated_at => 'ts', tags => 'tags', metadata => 'md');

# A leaf: {field, op, value (a node, absent for a bare exists)} plus what the
# evaluator needs, worked out once here.
sub mk_leaf {
    my ($field, $op, $value) = @_;
    my $l = { field => $field, op => $op };
    $l->{value} = $value if defined $value;
    my $kind = $field =~ /^metadata\./ ? 'md' : $KIND{$field};
    die "unknown field $field" unless $kind;
    $l->{_k} = $kind;
    $l->{_segs} = $field eq 'metadata' ? [] : [split /\./, substr($field, 9), -1] if $kind eq 'md';
    if ($op eq 'exists') {
        $l->{_want} = defined $value ? $value->[1] : 1;
    }
    elsif ($kind eq 'md') {
        # the value node is used as it is
    }
    elsif ($kind eq 'tags') {
        my @v = $value->[0] eq 'str' ? ($value->[1]) : map { $_->[1] } @{ $value->[1] };
        $l->{_list} = \@v;
        $l->{_set}  = join("\x00", sort(uniq(@v)));
    }
    else {
        my $conv = $kind eq 'ts' ? sub { parse_ts($_[0][1]) } : sub { $_[0][1] };
        if ($value->[0] eq 'arr') { $l->{_list} = [map { $conv->($_) } @{ $value->[1] }] }
        else { $l->{_v} = $conv->($value) }
    }
    $l->{_col} = $COL{$field} if $COL{$field};
    return $l;
}

sub ev {
    my ($f, $r) = @_;
    if (my $l = $f->{and}) { for (@$l) { return 0 unless ev($_, $r) } return 1 }
    if (my $l = $f->{or})  { for (@$l) { return 1 if ev($_, $r) } return 0 }
    return ev($f->{not}, $r) ? 0 : 1 if $f->{not};
    my $k = $f->{_k};
    return ev_md($f, $r) if $k eq 'md';
    return ev_tags($f, $r) if $k eq 'tags';
    my $op = $f->{op};
    my $x  = $r->{ $f->{_col} };
    return ((defined $x ? 1 : 0) == $f->{_want}) ? 1 : 0 if $op eq 'exists';
    return 0 unless defined $x;    # a missing owner matches no comparison
    my $v = $f->{_v};
    if ($k eq 'str') {
        return $x eq $v ? 1 : 0 if $op eq 'eq';
        return $x ne $v ? 1 : 0 if $op eq 'neq';
        return $x lt $v ? 1 : 0 if $op eq 'lt';
        return $x le $v ? 1 : 0 if $op eq 'lte';
        return $x gt $v ? 1 : 0 if $op eq 'gt';
        return $x ge $v ? 1 : 0 if $op eq 'gte';
        return ($f->{_list}[0] le $x && $x le $f->{_list}[1]) ? 1 : 0 if $op eq 'between';
        return (any { $x eq $_ } @{ $f->{_list} }) ? 1 : 0 if $op eq 'in';
        return index($x, $v) >= 0 ? 1 : 0 if $op eq 'contains';
        return substr($x, 0, length $v) eq $v ? 1 : 0 if $op eq 'prefix';
    }
    else {    # version, timestamps (epoch microseconds)
        return $x == $v ? 1 : 0 if $op eq 'eq';
        return $x != $v ? 1 : 0 if $op eq 'neq';
        return $x < $v ? 1 : 0 if $op eq 'lt';
        return $x <= $v ? 1 : 0 if $op eq 'lte';
        return $x > $v ? 1 : 0 if $op eq 'gt';
        return $x >= $v ? 1 : 0 if $op eq 'gte';
        return ($f->{_list}[0] <= $x && $x <= $f->{_list}[1]) ? 1 : 0 if $op eq 'between';
        return (any { $x == $_ } @{ $f->{_list} }) ? 1 : 0 if $op eq 'in';
    }
    die "reference: no $op for $f->{field}";
}

sub ev_tags {
    my ($f, $r) = @_;
    my $op = $f->{op};
    my $t  = $r->{tagset};
    return ((@{ $r->{tags} } ? 1 : 0) == $f->{_want}) ? 1 : 0 if $op eq 'exists';
    my $same = join("\x00", sort keys %$t) eq $f->{_set};
    return $same ? 1 : 0 if $op eq 'eq';
    return $same ? 0 : 1 if $op eq 'neq';
    return (any { $t->{$_} } @{ $f->{_list} }) ? 1 : 0 if $op eq 'in';
    return (all { $t->{$_} } @{ $f->{_list} }) ? 1 : 0 if $op eq 'contains' || $op eq 'array_contains';
    die "reference: no $op for tags";
}

sub ev_md {
    my ($f, $r) = @_;
    my $op = $f->{op};
    my $x  = lookup($r->{md}, $f->{_segs});
    return ((defined $x ? 1 : 0) == $f->{_want}) ? 1 : 0 if $op eq 'exists';
    return 0 unless defined $x;
    my $v  = $f->{value};
    my $tx = $x->[0];
    my $tv = $v->[0];
    return jeq($x, $v) if $op eq 'eq';
    return ($tx eq $tv && !jeq($x, $v)) ? 1 : 0 if $op eq 'neq';
    return (any { jeq($x, $_) } @{ $v->[1] }) ? 1 : 0 if $op eq 'in';
    if ($op =~ /^(lt|lte|gt|gte)$/) {
        return 0 unless $tx eq $tv;
        my $c = $tx eq 'num' ? $x->[1] <=> $v->[1] : $x->[1] cmp $v->[1];
        return ($op eq 'lt' ? $c < 0 : $op eq 'lte' ? $c <= 0 : $op eq 'gt' ? $c > 0 : $c >= 0) ? 1 : 0;
    }
    if ($op eq 'between') {
        my ($lo, $hi) = @{ $v->[1] };
        return 0 unless $tx eq $lo->[0];
        return ($lo->[1] <= $x->[1] && $x->[1] <= $hi->[1]) ? 1 : 0 if $tx eq 'num';
        return ($lo->[1] le $x->[1] && $x->[1] le $hi->[1]) ? 1 : 0;
    }
    if ($op eq 'contains') {
        return ($tx eq 'str' && index($x->[1], $v->[1]) >= 0) ? 1 : 0 if $tv eq 'str';
        return ($tx eq $tv && pgc($x, $v)) ? 1 : 0;    # object in object, array in array
    }
    if ($op eq 'array_contains') {
        return 0 unless $tx eq 'arr';
        return pgc($x, $tv eq 'arr' ? $v : A($v));
    }
    return ($tx eq 'str' && substr($x->[1], 0, length $v->[1]) eq $v->[1]) ? 1 : 0 if $op eq 'prefix';
    return ($tx eq 'obj' && exists $x->[1]{ $v->[1] }) ? 1 : 0 if $op eq 'has_key';
    die "reference: no $op for metadata";
}

# ---------------------------------------------------------------- filters as JSON
sub fenc {
    my $f = shift;
    return '{"and":[' . join(',', map { fenc($_) } @{ $f->{and} }) . ']}' if $f->{and};
    return '{"or":[' . join(',', map { fenc($_) } @{ $f->{or} }) . ']}' if $f->{or};
    return '{"not":' . fenc($f->{not}) . '}' if $f->{not};
    my $s = '{"field":' . jstr($f->{field}) . ',"op":' . jstr($f->{op});
    $s .= ',"value":' . jenc($f->{value}) if exists $f->{value};
    return $s . '}';
}

sub nleaves {
    my $f = shift;
    return sum0(map { nleaves($_) } @{ $f->{and} || $f->{or} }) if $f->{and} || $f->{or};
    return nleaves($f->{not}) if $f->{not};
    return 1;
}

# ================================================================ generator
# metadata paths present in the data (with their multiplicity) and the values there
my (@PATHS, %PATHVALS);
{
    my $walk;
    $walk = sub {
        my ($n, $segs) = @_;
        return if @$segs >= 6;
        my @kids;
        if ($n->[0] eq 'obj') {
            @kids = map { [$_, $n->[1]{$_}] } grep { $_ ne '' && !/\./ } sort keys %{ $n->[1] };
        }
        elsif ($n->[0] eq 'arr') {
            @kids = map { [$_, $n->[1][$_]] } 0 .. $#{ $n->[1] };
        }
        for my $k (@kids) {
            my $p = [@$segs, $k->[0]];
            my $ps = join('.', @$p);
            push @PATHS, $p;
            push @{ $PATHVALS{$ps} }, $k->[1];
            $walk->($k->[1], $p);
        }
    };
    $walk->($_->{md}, []) for @LIVE;
}

sub retext_num {
    my $n = shift;
    return $n unless $n->[0] eq 'num';
    my $t = $n->[2];
    return $n if chance(0.5) || $t =~ /[eE]/;
    return N($t =~ /\./ ? "${t}0" : "$t.0") if chance(0.6);
    return N("${t}e0");
}

# numbers inside a value take another spelling (1 -> 1.0) now and then
sub retext_deep {
    my $n = shift;
    my $t = $n->[0];
    return retext_num($n) if $t eq 'num';
    return ['arr', [map { retext_deep($_) } @{ $n->[1] }]] if $t eq 'arr';
    return ['obj', { map { ($_ => retext_deep($n->[1]{$_})) } sort keys %{ $n->[1] } }] if $t eq 'obj';
    return $n;
}

# a value that the given one contains (jsonb @>)
sub subset {
    my $n = shift;
    my $t = $n->[0];
    if ($t eq 'obj') {
        my %o;
        for my $k (sort keys %{ $n->[1] }) {
            next unless chance(0.5);
            $o{$k} = chance(0.5) ? subset($n->[1]{$k}) : retext_deep($n->[1]{$k});
        }
        return ['obj', \%o];
    }
    if ($t eq 'arr') {
        my @e = map { chance(0.5) ? subset($_) : $_ } grep { chance(0.6) } @{ $n->[1] };
        @e = shuffle(@e) if chance(0.3);
        push @e, $e[0] if @e && chance(0.1);
        return ['arr', \@e];
    }
    return retext_num($n);
}

sub bump_last {
    my ($s, $d) = @_;
    return undef if $s eq '';
    my $c = ord(substr($s, -1)) + $d;
    return undef if $c < 0x20 || ($c >= 0x7f && $c < 0xa0) || ($c >= 0xD800 && $c <= 0xDFFF) || $c > 0x10FFFF;
    return substr($s, 0, -1) . chr($c);
}

sub mut_str {
    my $s = shift;
    return $s if chance(0.45);
    my $k = wpick(pre => 3, ext => 2, bump => 3, case => 1, pool => 2);
    if ($k eq 'pre') { return substr($s, 0, rint(length($s) + 1)) }
    if ($k eq 'ext') { return $s . pick('a', 'A', ' ', '/', '.', 'é', '😀', "\x{10FFFF}", '0') }
    if ($k eq 'bump') { return bump_last($s, pick(1, -1)) // $s }
    if ($k eq 'case') { return chance(0.5) ? uc($s) : lc($s) }
    return pick(@STR_POOL);
}

sub rsubstr {
    my $s = shift;
    my $i = rint(length($s) + 1);
    return substr($s, $i, rint(length($s) - $i + 1));
}

sub rand_rec { $LIVE[ rint(scalar @LIVE) ] }

my %STR_EXTRA = (
    key        => [@KEYS_SPECIAL, 'app.', 'svc/', 'svc/db/', 'x', 'y', '', 'datasets/', 'é'],
    namespace  => ['alpha', 'beta', 'beta.sub', 'Gamma-1', 'beta.', 'beta.s', 'gamma-1', 'Gamma', 'b', ''],
    owner      => [@OWNERS, 'ALICE', 'ali', 'team/', 'zz'],
    created_by => [@PRINCIPALS, 'postgres', $ENV{PGUSER} // 'postgres', 'Alice', 'bob', 'C', ''],
);
$STR_EXTRA{updated_by} = $STR_EXTRA{created_by};

sub sample_str {
    my $f = shift;
    if (chance(0.8)) {
        my $v = rand_rec()->{ $COL{$f} };
        return $v if defined $v;
    }
    return pick(@{ $STR_EXTRA{$f} });
}

sub gen_str_leaf {
    my $f  = shift;
    my $op = wpick(eq => 3, neq => 2, lt => 1, lte => 1, gt => 1, gte => 1, between => 2, in => 2,
        contains => 2, prefix => 3, exists => 1);
    my $x = sample_str($f);
    return mk_leaf($f, $op, gen_exists_value()) if $op eq 'exists';
    return mk_leaf($f, $op, S($x)) if $op eq 'eq' && chance(0.6);
    return mk_leaf($f, $op, S(mut_str($x))) if $op =~ /^(eq|neq|lt|lte|gt|gte)$/;
    if ($op eq 'between') {
        my @b = (mut_str($x), mut_str(sample_str($f)));
        @b = sort @b if chance(0.8);
        return mk_leaf($f, $op, A(map { S($_) } @b));
    }
    if ($op eq 'in') {
        my $n = chance(0.05) ? 0 : 1 + rint(5);
        return mk_leaf($f, $op, A(map { S(chance(0.7) ? sample_str($f) : mut_str(sample_str($f))) } 1 .. $n));
    }
    return mk_leaf($f, $op, S(chance(0.8) ? rsubstr($x) : pick(@STR_POOL))) if $op eq 'contains';
    return mk_leaf($f, $op, S(chance(0.85) ? substr($x, 0, rint(length($x) + 1)) : mut_str($x)));
}

sub gen_exists_value { my $k = wpick(none => 2, t => 1, f => 1); $k eq 'none' ? undef : B($k eq 't') }

sub gen_ver_leaf {
    my $op = wpick(eq => 3, neq => 2, lt => 1, lte => 1, gt => 1, gte => 1, between => 2, in => 2, exists => 1);
    my $sv = sub { my $v = rand_rec()->{version}; chance(0.7) ? $v : $v + pick(-1, 1, 2, -5, 100) };
    return mk_leaf('version', $op, gen_exists_value()) if $op eq 'exists';
    if ($op eq 'between') {
        my @b = ($sv->(), $sv->());
        @b = sort { $a <=> $b } @b if chance(0.8);
        return mk_leaf('version', $op, A(map { N($_) } @b));
    }
    return mk_leaf('version', $op, A(map { N($sv->()) } 1 .. rint(5))) if $op eq 'in';
    return mk_leaf('version', $op, N($sv->()));
}

sub sample_ts {
    my $f  = shift;
    my $us = rand_rec()->{ $COL{$f} };
    $us = rand_rec()->{ $f eq 'created_at' ? 'ua' : 'ca' } if chance(0.1);
    $us += pick(1, -1, 1_000_000, -1_000_000, 86_400_000_000) if chance(0.25);
    return fmt_date($us + (chance(0.5) ? 86_400_000_000 : 0)) if chance(0.08);
    my $off = chance(0.5) ? 0 : pick(330, -480, 60, -30, 840, -720);
    return fmt_ts($us, $off, wpick(6 => 6, 0 => 2, 3 => 1, 1 => 1), chance(0.7));
}

sub gen_ts_leaf {
    my $f  = shift;
    my $op = wpick(eq => 2, neq => 1, lt => 2, lte => 1, gt => 2, gte => 1, between => 2, in => 1, exists => 1);
    return mk_leaf($f, $op, gen_exists_value()) if $op eq 'exists';
    if ($op eq 'between') {
        my @b = (sample_ts($f), sample_ts($f));
        @b = sort { parse_ts($a) <=> parse_ts($b) } @b if chance(0.8);
        return mk_leaf($f, $op, A(map { S($_) } @b));
    }
    return mk_leaf($f, $op, A(map { S(sample_ts($f)) } 1 .. rint(4))) if $op eq 'in';
    return mk_leaf($f, $op, S(sample_ts($f)));
}

sub gen_tags_leaf {
    my $op = wpick(eq => 2, neq => 1, in => 2, contains => 2, array_contains => 3, exists => 1);
    return mk_leaf('tags', $op, gen_exists_value()) if $op eq 'exists';
    my @t = @{ rand_rec()->{tags} };
    my @v;
    if ($op eq 'eq' || $op eq 'neq') {
        @v = chance(0.75) ? @t : map { pick(@TAGS) } 1 .. rint(3);
        push @v, $v[0] if @v && chance(0.15);    # duplicates and order do not matter in a set
        @v = shuffle(@v) if chance(0.5);
    }
    else {
        @v = grep { chance(0.6) } @t;
        push @v, pick(@TAGS) while chance($op eq 'in' ? 0.5 : 0.25);
    }
    return mk_leaf('tags', $op, S($v[0])) if @v == 1 && $op ne 'in' && chance(0.5);
    return mk_leaf('tags', $op, A(map { S($_) } @v));
}

my @VOCAB_SEGS = (@KEY_VOCAB, 'l1', 'l2', 'l3', 'l4', 'k', 'l', '3', '100', 'we"ird', "back\\slash", 'sp ace',
    "it's", '$', '*', '@', 'ünï', '[0]', "q'q");

sub gen_path {
    my $k = wpick(data => 65, mut => 15, rand => 10, top => 10);
    my @p;
    if ($k eq 'data' || $k eq 'mut') { @p = @{ $PATHS[ rint(scalar @PATHS) ] } }
    if ($k eq 'mut') {
        my $m = wpick(app => 2, last => 2, idx => 1, cut => 1);
        if ($m eq 'app') { push @p, pick(@VOCAB_SEGS) }
        elsif ($m eq 'last') { $p[-1] = pick(@VOCAB_SEGS) }
        elsif ($m eq 'idx') { @p = map { /^[0-9]+$/ ? pick(0, 1, 2, 5, 100) : $_ } @p }
        else { pop @p if @p > 1 }
    }
    elsif ($k eq 'rand') { @p = map { pick(@VOCAB_SEGS) } 0 .. rint(3) }
    elsif ($k eq 'top') { @p = (pick(@KEY_VOCAB[0 .. 15])) }
    return \@p;
}

sub sample_at {
    my ($segs) = @_;
    return rand_rec()->{md} unless @$segs;
    my $vals = $PATHVALS{ join('.', @$segs) };
    return $vals && chance(0.9) ? $vals->[ rint(scalar @$vals) ] : undef;
}

sub gen_md_leaf {
    my $whole = chance(0.08);
    my $segs  = $whole ? [] : gen_path();
    my $field = $whole ? 'metadata' : 'metadata.' . join('.', @$segs);
    my $x     = sample_at($segs) // rv(2);
    my $alt   = sub { sample_at($segs) // rv(2) };
    my $op = wpick(eq => 4, neq => 2, lt => 1, lte => 1, gt => 1, gte => 1, between => 2, in => 2,
        contains => 3, array_contains => 3, prefix => 2, exists => 2, has_key => 2);
    return mk_leaf($field, $op, gen_exists_value()) if $op eq 'exists';
    return mk_leaf($field, $op, chance(0.7) ? retext_deep($x) : $alt->()) if $op eq 'eq';
    return mk_leaf($field, $op, chance(0.5) ? retext_deep($x) : $alt->()) if $op eq 'neq';
    my $numstr = sub {    # a number or a string near the data
        my $v = shift;
        if ($v->[0] eq 'num') {
            return chance(0.6) ? retext_num($v) : N($v->[1] + pick(1, -1, 0.5, -0.001, 10));
        }
        return S(mut_str($v->[1])) if $v->[0] eq 'str';
        return chance(0.5) ? rnum() : rstr();
    };
    return mk_leaf($field, $op, $numstr->($x)) if $op =~ /^(lt|lte|gt|gte)$/;
    if ($op eq 'between') {
        my $lo = $numstr->($x);
        my $hi;
        for (1 .. 5) { $hi = $numstr->($alt->()); last if $hi->[0] eq $lo->[0] }
        $hi = $lo->[0] eq 'num' ? rnum() : rstr() if $hi->[0] ne $lo->[0];
        my $swap = $lo->[0] eq 'num' ? $lo->[1] > $hi->[1] : $lo->[1] gt $hi->[1];
        ($lo, $hi) = ($hi, $lo) if $swap && chance(0.8);
        return mk_leaf($field, $op, A($lo, $hi));
    }
    if ($op eq 'in') {
        my @v = map { chance(0.6) ? retext_deep($alt->()) : chance(0.7) ? rscalar() : rv(2) } 1 .. rint(5);
        splice(@v, rint(@v + 1), 0, retext_deep($x)) if chance(0.6);
        return mk_leaf($field, $op, A(@v));
    }
    if ($op eq 'contains') {
        my $t = $x->[0];
        return mk_leaf($field, $op, S(chance(0.8) ? rsubstr($x->[1]) : pick(@STR_POOL))) if $t eq 'str';
        return mk_leaf($field, $op, subset($x)) if ($t eq 'obj' || $t eq 'arr') && chance(0.85);
        my $k = wpick(s => 1, o => 1, a => 1);
        return mk_leaf($field, $op, $k eq 's' ? rstr() : $k eq 'a' ? A(map { rscalar() } 1 .. rint(3))
              : O(pick(@KEY_VOCAB) => rscalar()));
    }
    if ($op eq 'array_contains') {
        if ($x->[0] eq 'arr' && @{ $x->[1] } && chance(0.85)) {
            my @e = @{ $x->[1] };
            return mk_leaf($field, $op, subset(pick(@e))) if chance(0.5);
            return mk_leaf($field, $op, subset($x));
        }
        return mk_leaf($field, $op, chance(0.7) ? rscalar() : rv(2));
    }
    if ($op eq 'prefix') {
        return mk_leaf($field, $op, S(substr($x->[1], 0, rint(length($x->[1]) + 1)))) if $x->[0] eq 'str' && chance(0.85);
        return mk_leaf($field, $op, rstr());
    }
    # has_key
    if ($x->[0] eq 'obj' && %{ $x->[1] } && chance(0.8)) { return mk_leaf($field, $op, S(pick(sort keys %{ $x->[1] }))) }
    if ($x->[0] eq 'arr' && chance(0.6)) {    # a string element is not a key
        my @s = grep { $_->[0] eq 'str' } @{ $x->[1] };
        return mk_leaf($field, $op, S($s[0][1])) if @s;
    }
    return mk_leaf($field, $op, S(pick(@KEY_VOCAB, @SPECIAL_KEYS)));
}

sub gen_leaf {
    my $f = wpick(md => 48, tags => 11, key => 9, namespace => 4, owner => 6, created_by => 2,
        updated_by => 2, version => 5, created_at => 4, updated_at => 5);
    return gen_md_leaf() if $f eq 'md';
    return gen_tags_leaf() if $f eq 'tags';
    return gen_ver_leaf() if $f eq 'version';
    return gen_ts_leaf($f) if $f =~ /_at$/;
    return gen_str_leaf($f);
}

sub gen_filter {
    my $d = shift;
    my $r = rand();
    if ($d > 0 && $r < 0.38) {
        my $n = chance(0.04) ? 0 : 1 + rint(4);
        return { (chance(0.5) ? 'and' : 'or') => [map { gen_filter($d - 1) } 1 .. $n] };
    }
    return { not => gen_filter($d - 1) } if $d > 0 && $r < 0.5;
    return gen_leaf();
}

# evaluate over every live record; undef when the answer is ambiguous
sub eval_all {
    my $f = shift;
    local $AMBIG = 0;
    my %m = map { ($_->{id} => 1) } grep { ev($f, $_) } @LIVE;
    return $AMBIG ? undef : \%m;
}

# ---------------------------------------------------------------- sorting
my @SORT_MD = ('size', 'pool', 'mixed', 'name', 'env', 'count', 'ratio', 'list.0', 'items.0.id',
    'items.0.name', 'nested.a.b', 'enabled', '0', 'nested.level', 'list.1', 'matrix.0');
my %RANKVAL;    # jenc(value) -> rank, filled from the database (PostgreSQL's jsonb order)

sub gen_sort {
    my @pool = ('key', 'namespace', 'owner', 'version', 'created_at', 'updated_at', 'created_by', 'updated_by');
    my @s;
    my %used;
    my $n = wpick(1 => 4, 2 => 4, 3 => 2, 4 => 1);
    while (@s < $n) {
        my $f;
        if (chance(0.35)) {
            my $p = chance(0.7) ? pick(@SORT_MD) : join('.', @{ $PATHS[ rint(scalar @PATHS) ] });
            local $AMBIG = 0;
            my @segs = split /\./, $p;
            lookup($_->{md}, \@segs) for @LIVE;
            next if $AMBIG;
            $f = "metadata.$p";
        }
        else { $f = pick(@pool) }
        next if $used{$f}++;
        push @s, { field => $f, dir => wpick(asc => 4, desc => 4, none => 1) };
    }
    return \@s;
}

sub sort_json {
    my $s = shift;
    return '[' . join(',', map {
        '{"field":' . jstr($_->{field}) . ($_->{dir} eq 'none' ? '' : ',"dir":"' . $_->{dir} . '"') . '}'
    } @$s) . ']';
}

# the value a record sorts by (undef: missing, sorts last ascending)
sub sort_value {
    my ($r, $f) = @_;
    if ($f =~ /^metadata\.(.*)$/) {
        my $v = lookup($r->{md}, [split /\./, $1, -1]);
        return undef unless defined $v;
        my $rank = $RANKVAL{ jenc($v) };
        die "no rank for " . jenc($v) unless defined $rank;
        return $rank;
    }
    return $r->{ $COL{$f} };
}

sub ref_order {
    my ($recs, $sort) = @_;
    my @ent = map {
        { field => $_->{field}, dir => ($_->{dir} eq 'desc' ? -1 : 1),
          num => ($_->{field} =~ /^(version|created_at|updated_at|metadata\..*)$/ ? 1 : 0) }
    } @$sort;
    my $last = @ent ? $ent[-1]{dir} : 1;
    my @keyed = map {
        my $r = $_;
        [$r, [map { sort_value($r, $_->{field}) } @ent]]
    } @$recs;
    my $cmp = sub {
        my ($x, $y) = @_;
        for my $i (0 .. $#ent) {
            my ($p, $q) = ($x->[1][$i], $y->[1][$i]);
            next if !defined $p && !defined $q;
            return $ent[$i]{dir} if !defined $p;    # missing: last ascending, first descending
            return -$ent[$i]{dir} if !defined $q;
            my $c = $ent[$i]{num} ? $p <=> $q : $p cmp $q;
            return $c * $ent[$i]{dir} if $c;
        }
        return (($x->[0]{key} cmp $y->[0]{key}) || ($x->[0]{ns} cmp $y->[0]{ns})) * $last;
    };
    return [map { $_->[0]{id} } sort { $cmp->($a, $b) } @keyed];
}

# ---------------------------------------------------------------- the runs
# each run: {id, ns (undef = every namespace), filter (undef = none), sort, limits, expect [ids in order], group}
my @RUNS;
my $nid = 0;

sub add_run {
    my (%a) = @_;
    my $m = defined $a{filter} ? eval_all($a{filter}) : { map { ($_->{id} => 1) } @LIVE };
    return 0 unless $m;
    my @scope = defined $a{ns} ? @{ $BYNS{ $a{ns} } || [] } : @LIVE;
    my @match = grep { $m->{ $_->{id} } } @scope;
    return 0 if $a{bias} && ((!@match && chance(0.6)) || (@match == @scope && chance(0.6)));
    my $sort = $a{sort} || [];
    my $doc = '{' . join(',',
        (defined $a{filter} ? ('"filter":' . fenc($a{filter})) : ()),
        '"fields":["key"]',
        (@$sort ? ('"sort":' . sort_json($sort)) : ())) . '}';
    push @RUNS, { %a, id => ++$nid, doc => $doc, expect => ref_order(\@match, $sort), nscope => scalar @scope };
    return 1;
}

sub rand_ns { chance(0.5) ? undef : pick(@NS_NAMES) }

# hand-picked edge cases first
{
    my @edge = (
        undef,
        { and => [] }, { or => [] }, { not => { and => [] } }, { not => { or => [] } },
        (map { mk_leaf('key', 'prefix', S($_)) } '', 'x', "x\x{D7FF}", "x\x{10FFFF}", 'a%', 'a_', 'a\\',
            'caf', 'app.', 'emoji/😀', '日本', "app/e", 'svc/db/1', '~'),
        (map { mk_leaf('key', $_, S("x\x{D7FF}")) } qw(lt lte gt gte)),
        (map { mk_leaf('key', $_, S('app/é')) } qw(lt gt)),
        mk_leaf('key', 'between', A(S('a'), S('b'))), mk_leaf('key', 'between', A(S('b'), S('a'))),
        mk_leaf('key', 'contains', S('%')), mk_leaf('key', 'contains', S('_')), mk_leaf('key', 'contains', S('')),
        mk_leaf('namespace', 'prefix', S('beta')), mk_leaf('namespace', 'lt', S('alpha')),
        mk_leaf('owner', 'neq', S('alice')), { not => mk_leaf('owner', 'neq', S('alice')) },
        mk_leaf('owner', 'exists', undef), mk_leaf('owner', 'exists', B(0)), mk_leaf('owner', 'eq', S('')),
        { not => mk_leaf('owner', 'in', A(S('alice'), S('bob'))) }, mk_leaf('owner', 'lt', S('b')),
        mk_leaf('owner', 'prefix', S('')), mk_leaf('owner', 'in', A()),
        mk_leaf('tags', 'eq', A()), mk_leaf('tags', 'eq', S('db')), mk_leaf('tags', 'eq', A(S('db'), S('db'))),
        mk_leaf('tags', 'neq', A()), mk_leaf('tags', 'contains', A()), mk_leaf('tags', 'in', A()),
        mk_leaf('tags', 'array_contains', A(S('db'), S('cache'))), mk_leaf('tags', 'exists', B(0)),
        mk_leaf('tags', 'in', A(S('DB'), S('é'))), { not => mk_leaf('tags', 'contains', S('db')) },
        mk_leaf('version', 'gt', N(1)), mk_leaf('version', 'in', A(N(2), N(3))), mk_leaf('version', 'exists', B(0)),
        mk_leaf('created_at', 'lt', S('2026-01-01')), mk_leaf('updated_at', 'gte', S('2026-11-22')),
        mk_leaf('updated_at', 'eq', S('2026-11-22T10:00:00Z')),
        mk_leaf('updated_at', 'eq', S('2026-11-22T15:30:00+05:30')),
        mk_leaf('created_at', 'eq', S('2026-11-22T05:00:00.000001-05:00')),
        mk_leaf('created_at', 'between', A(S('2025-12-31T23:30:00Z'), S('2026-01-01T05:30:00+05:30'))),
        mk_leaf('updated_at', 'lt', S('2026-11-22T00:00:00Z')), mk_leaf('updated_at', 'lte', S('2026-11-22')),
        mk_leaf('metadata', 'eq', S('env')), mk_leaf('metadata', 'eq', S('pool')), mk_leaf('metadata', 'in', A(S('env'), S('name'))),
        mk_leaf('metadata', 'has_key', S('env')), mk_leaf('metadata', 'has_key', S('pool')), mk_leaf('metadata', 'has_key', S('')),
        mk_leaf('metadata', 'has_key', S('a.b')), mk_leaf('metadata.env', 'exists', undef),
        mk_leaf('metadata.pool', 'exists', undef), mk_leaf('metadata', 'eq', NUL()), mk_leaf('metadata', 'eq', O()),
        mk_leaf('metadata', 'contains', O()), mk_leaf('metadata', 'contains', A()), mk_leaf('metadata', 'exists', B(0)),
        mk_leaf('metadata', 'lt', S('m')), mk_leaf('metadata', 'gt', N(0)), mk_leaf('metadata', 'prefix', S('')),
        mk_leaf('metadata.nested.a.b', 'exists', undef), { not => mk_leaf('metadata.nested.a.b', 'exists', undef) },
        mk_leaf('metadata.items.id', 'exists', undef), mk_leaf('metadata.items.0.id', 'exists', undef),
        mk_leaf('metadata.items.0.id', 'eq', N(1)), mk_leaf('metadata.items.1', 'has_key', S('name')),
        mk_leaf('metadata.items.0', 'exists', undef), mk_leaf('metadata.items.id', 'eq', N(1)),
        mk_leaf('metadata.items', 'array_contains', O(id => N('1.0'))),
        mk_leaf('metadata.items', 'contains', A(O(id => N(2)))), mk_leaf('metadata.items', 'contains', O('0' => O())),
        mk_leaf('metadata.nested.0', 'exists', undef), mk_leaf('metadata.nested.1.x', 'exists', undef),
        mk_leaf('metadata.0', 'exists', undef), mk_leaf('metadata.-1', 'exists', undef),
        mk_leaf('metadata.list.-1', 'exists', undef), mk_leaf('metadata.01', 'exists', undef),
        mk_leaf('metadata.list.0', 'exists', undef), mk_leaf('metadata.list.100', 'exists', undef),
        mk_leaf('metadata.we"ird', 'exists', undef), mk_leaf("metadata.back\\slash", 'exists', undef),
        mk_leaf('metadata.sp ace', 'exists', undef), mk_leaf("metadata.it's", 'exists', undef),
        mk_leaf('metadata.$', 'exists', undef), mk_leaf('metadata.*', 'exists', undef), mk_leaf('metadata.[0]', 'exists', undef),
        mk_leaf("metadata.q'q", 'exists', undef), mk_leaf('metadata.@', 'exists', undef),
        mk_leaf('metadata.we"ird', 'has_key', S('a')), mk_leaf('metadata.ünï', 'exists', B(0)),
        mk_leaf('metadata.pool', 'eq', N(1)), mk_leaf('metadata.pool', 'eq', N('1.0')), mk_leaf('metadata.pool', 'eq', N('1e2')),
        mk_leaf('metadata.pool', 'eq', S('1')), mk_leaf('metadata.pool', 'neq', N(1)), mk_leaf('metadata.pool', 'neq', S('1')),
        mk_leaf('metadata.pool', 'lt', N(10)), mk_leaf('metadata.pool', 'lt', S('10')), mk_leaf('metadata.pool', 'between', A(N(1), N(10))),
        mk_leaf('metadata.pool', 'between', A(S('1'), S('9'))), mk_leaf('metadata.pool', 'in', A(N('1.0'), S('2'), NUL())),
        mk_leaf('metadata.size', 'eq', NUL()), mk_leaf('metadata.size', 'neq', NUL()), mk_leaf('metadata.size', 'in', A(NUL())),
        { not => mk_leaf('metadata.size', 'eq', NUL()) }, mk_leaf('metadata.size', 'neq', B(1)),
        mk_leaf('metadata.enabled', 'eq', B(1)), mk_leaf('metadata.enabled', 'neq', B(1)), mk_leaf('metadata.enabled', 'eq', S('true')),
        mk_leaf('metadata.name', 'lt', S('a')), mk_leaf('metadata.name', 'gte', S('é')), mk_leaf('metadata.name', 'prefix', S('a%')),
        mk_leaf('metadata.name', 'prefix', S('a_')), mk_leaf('metadata.name', 'contains', S('%')), mk_leaf('metadata.name', 'contains', S('')),
        mk_leaf('metadata.name', 'between', A(S('A'), S('a'))), mk_leaf('metadata.name', 'eq', S("e\x{301}")),
        mk_leaf('metadata.mixed', 'eq', O()), mk_leaf('metadata.mixed', 'eq', A()), mk_leaf('metadata.mixed', 'contains', O()),
        mk_leaf('metadata.mixed', 'contains', A()), mk_leaf('metadata.mixed', 'array_contains', A()),
        mk_leaf('metadata.mixed', 'has_key', S('a')), mk_leaf('metadata.empty_obj', 'eq', O()), mk_leaf('metadata.empty_arr', 'eq', A()),
        mk_leaf('metadata.list', 'array_contains', N(1)), mk_leaf('metadata.list', 'array_contains', A(N(1), S('a'))),
        mk_leaf('metadata.list', 'contains', A(N('1.0'))), mk_leaf('metadata.list', 'eq', A()),
        mk_leaf('metadata.matrix', 'array_contains', A(N(1))), mk_leaf('metadata.matrix', 'array_contains', A(A(N(1)))),
        mk_leaf('metadata.matrix', 'contains', A(A())), mk_leaf('metadata.matrix.0', 'array_contains', N(1)),
        mk_leaf('metadata.nested', 'contains', O(a => O(c => A()))), mk_leaf('metadata.nested.a.c', 'array_contains', A()),
        mk_leaf('metadata.deep.l1.l2.l3.l4', 'exists', undef), mk_leaf('metadata.deep', 'contains', O(l1 => O(l2 => O()))),
        mk_leaf('metadata.nested.tags', 'array_contains', S('db')), mk_leaf('metadata.nested.tags', 'eq', S('db')),
        mk_leaf('metadata.items', 'eq', S('none')), mk_leaf('metadata.items', 'prefix', S('no')),
        mk_leaf('metadata.ts', 'gt', S('2024')), mk_leaf('metadata.count', 'gte', N('0.0')), mk_leaf('metadata.ratio', 'eq', N('0.1')),
        mk_leaf('metadata.pool.size', 'exists', undef), mk_leaf('metadata.pool', 'has_key', S('size')),
    );
    my $ok = 0;
    for my $f (@edge) {
        for my $ns (undef, pick(@NS_NAMES)) { $ok += add_run(filter => $f, ns => $ns, group => 'edge cases') }
    }
    # no filter, every namespace and each
    add_run(filter => undef, ns => $_, group => 'edge cases') for undef, @NS_NAMES;
}

my $n_edge = scalar @RUNS;
{
    my $made = 0;
    my $tries = 0;
    while ($made < $N_RANDOM && $tries++ < $N_RANDOM * 10) {
        my $f = gen_filter(rint(5));
        next if nleaves($f) > 64;
        $made += add_run(filter => $f, ns => rand_ns(), bias => 1, group => 'random');
    }
    $made = 0;
    $tries = 0;
    while ($made < $N_PAGED && $tries++ < $N_PAGED * 10) {
        my $f = chance(0.03) ? undef : gen_filter(rint(4));
        next if defined $f && nleaves($f) > 64;
        my $sort = gen_sort();
        # limits for the pages in turn (fields and limit may change between pages)
        my $lim = wpick(a => 6, b => 3, c => 1);
        my $limits = $lim eq 'a' ? [7] : $lim eq 'b' ? [5, 7, 13] : [1, 2];
        # and the projection, in turn (key is always there)
        my $fields = chance(0.7) ? ['["key"]'] : ['["key"]', '["updated_at"]', '["key","metadata.size","owner","tags"]'];
        collect_ranks($sort);
        $made += add_run_paged($f, $sort, $limits, $fields);
    }
    # Writes between pages (rolled back after each run): records that stay put
    # must be neither repeated nor skipped, and keep their order.
    $made = 0;
    $tries = 0;
    while ($made < $N_WRITES && $tries++ < $N_WRITES * 10) {
        my $f = chance(0.1) ? undef : gen_filter(rint(4));
        next if defined $f && nleaves($f) > 64;
        my $sort = gen_sort();
        collect_ranks($sort);
        $made += add_run_writes($f, $sort, chance(0.6) ? [7] : [5, 7, 13]);
    }
}

# the sort values PostgreSQL must rank
sub collect_ranks {
    my $sort = shift;
    for my $s (@$sort) {
        next unless $s->{field} =~ /^metadata\.(.*)$/;
        my @segs = split /\./, $1, -1;
        for (@LIVE) { my $v = lookup($_->{md}, \@segs); $RANKVAL{ jenc($v) } //= undef if defined $v }
    }
}

sub put_json {
    my ($ns, $key, $md) = @_;
    my @tags = map { pick(@TAGS) } 1 .. rint(3);
    my $owner = chance(0.3) ? undef : pick(@OWNERS);
    return '{"op":"put","ns":' . jstr($ns) . ',"key":' . jstr($key) . ',"md":' . jenc($md)
      . ',"tags":[' . join(',', map { jstr($_) } @tags) . '],"owner":' . (defined $owner ? jstr($owner) : 'null') . '}';
}

sub add_run_writes {
    my ($f, $sort, $limits) = @_;
    my $ns = rand_ns();
    my $m = defined $f ? eval_all($f) : { map { ($_->{id} => 1) } @LIVE };
    return 0 unless $m;
    my @scope = defined $ns ? @{ $BYNS{$ns} } : @LIVE;
    my @match = grep { $m->{ $_->{id} } } @scope;
    return 0 if @match < 12 || (@match > 250 && chance(0.7));
    my (%touched, @gaps);
    my @targets = shuffle(@match);
    my @others  = shuffle(@scope);
    my %dead;
    $dead{$_} = 1 for keys %DELETED;
    for my $gap (1 .. int(@match / 5) + 2) {
        my @ops;
        for (1 .. wpick(0 => 1, 1 => 3, 2 => 2)) {
            my $kind = wpick(ins => 2, del => 2, upd => 2);
            if ($kind eq 'ins') {
                my $tns = $ns // pick(@NS_NAMES);
                my @dk = sort grep { /^\Q$tns\E\t/ && !$touched{$_} } keys %dead;
                my $key = @dk && chance(0.4) ? (split /\t/, pick(@dk), 2)[1]    # restores a deleted key
                  : pick(map { $_->{key} } @{ $BYNS{$tns} }) . pick('~', '0', ' ', 'é', '/new', "\x{10FFFF}");
                next if $touched{"$tns\t$key"}++;
                push @ops, put_json($tns, $key, gen_md());
            }
            else {
                my $r = chance(0.7) && @targets ? shift @targets : shift @others;
                next if !$r || $touched{ $r->{id} }++;
                push @ops, $kind eq 'del'
                  ? '{"op":"del","ns":' . jstr($r->{ns}) . ',"key":' . jstr($r->{key}) . '}'
                  : put_json($r->{ns}, $r->{key}, chance(0.5) ? mutate_md($r->{md}) : gen_md());
            }
        }
        push @gaps, '[' . join(',', @ops) . ']';
    }
    my $doc = '{' . join(',',
        (defined $f ? ('"filter":' . fenc($f)) : ()),
        '"fields":["key"]', '"sort":' . sort_json($sort)) . '}';
    push @RUNS, { id => ++$nid, ns => $ns, filter => $f, sort => $sort, limits => $limits, doc => $doc,
        match => \@match, group => 'paged with writes between pages', nscope => scalar @scope,
        touched => \%touched, writes => '[' . join(',', @gaps) . ']' };
    return 1;
}

sub add_run_paged {
    my ($f, $sort, $limits, $fields) = @_;
    my $ns = rand_ns();
    # expectations need the ranks: compute them after the database ranked the values
    my $m = defined $f ? eval_all($f) : { map { ($_->{id} => 1) } @LIVE };
    return 0 unless $m;
    my @scope = defined $ns ? @{ $BYNS{$ns} } : @LIVE;
    my @match = grep { $m->{ $_->{id} } } @scope;
    return 0 if !@match && chance(0.8);
    return 0 if @match > 30 && $limits->[0] == 1;
    return 0 if @match > 250 && chance(0.6);
    my $doc = '{' . join(',',
        (defined $f ? ('"filter":' . fenc($f)) : ()),
        '"fields":["key"]', '"sort":' . sort_json($sort)) . '}';
    push @RUNS, { id => ++$nid, ns => $ns, filter => $f, sort => $sort, limits => $limits, fields => $fields, doc => $doc,
        match => \@match, group => 'paged', nscope => scalar @scope };
    return 1;
}

note(sprintf('%d runs generated (%d edge, %d paged) in %.1fs', scalar @RUNS, $n_edge,
    scalar(grep { $_->{group} eq 'paged' } @RUNS), Time::HiRes::time() - $T0));
{
    my (%ops, $empty, $all);
    my $count;
    $count = sub {
        my $f = shift;
        return unless $f;
        if ($f->{and} || $f->{or}) { $count->($_) for @{ $f->{and} || $f->{or} }; return }
        return $count->($f->{not}) if $f->{not};
        $ops{ ($f->{_k} eq 'md' ? ($f->{field} eq 'metadata' ? 'metadata' : 'metadata.*') : $f->{field}) . " $f->{op}" }++;
    };
    for my $r (@RUNS) {
        $count->($r->{filter});
        my $n = $r->{expect} ? @{ $r->{expect} } : @{ $r->{match} };
        $empty++ if $n == 0;
        $all++ if $n == $r->{nscope};
    }
    note(sprintf('runs matching nothing: %d, everything in scope: %d', $empty // 0, $all // 0));
    note('leaves by field and op: ' . join(', ', map { "$_ $ops{$_}" } sort keys %ops));
}

if (my $dump = $ENV{METASTORE_SEARCH_DUMP}) {    # every query, to look at or replay
    spew_utf8($dump, join('', map { "$_->{id}\t" . ($_->{ns} // 'NULL') . "\t$_->{doc}\n" } @RUNS));
}

# ---------------------------------------------------------------- one database call
my %RESULT;
{
    my @rv = sort keys %RANKVAL;
    spew_utf8("$TMP/rv.csv", join('', map { ($_ + 1) . ',' . csv_field($rv[$_]) . "\n" } 0 .. $#rv));
    spew_utf8("$TMP/q.csv", join('', map {
        join(',', $_->{id}, csv_field($_->{ns}), csv_field($_->{doc}),
            csv_field('{' . join(',', @{ $_->{limits} || [1000] }) . '}'),
            csv_field('[' . join(',', @{ $_->{fields} || ['["key"]'] }) . ']'), csv_field($_->{writes})) . "\n"
    } @RUNS));
    my $sql = <<"SQL";
CREATE TEMP TABLE rv (i int, v jsonb);
\\copy rv FROM '$TMP/rv.csv' WITH (FORMAT csv)
CREATE TEMP TABLE q (id int, ns text, doc jsonb, limits int[], fields jsonb, writes jsonb);
\\copy q FROM '$TMP/q.csv' WITH (FORMAT csv)
-- every page of one query: {"pages": [[[ns, key], ...], ...]} or {"error", "message", "pages"};
-- p_writes: the writes to make after each page (all rolled back at the end)
CREATE FUNCTION pg_temp.run_one(p_ns text, p_q jsonb, p_limits int[], p_fields jsonb, p_writes jsonb)
RETURNS jsonb LANGUAGE plpgsql AS \$fn\$
DECLARE
  res jsonb; q jsonb; cur text; n int := 0; pages jsonb := '[]'; w jsonb;
BEGIN
  LOOP
    IF n > 0 AND p_writes IS NOT NULL THEN
      FOR w IN SELECT * FROM jsonb_array_elements(coalesce(p_writes->(n - 1), '[]')) LOOP
        IF w->>'op' = 'del' THEN
          PERFORM metastore.delete_record(w->>'ns', w->>'key');
        ELSE
          PERFORM metastore.put_record(w->>'ns', w->>'key', w->'md',
                    ARRAY(SELECT jsonb_array_elements_text(w->'tags')), NULL, w->>'owner');
        END IF;
      END LOOP;
    END IF;
    q := p_q || jsonb_build_object('limit', p_limits[1 + n % array_length(p_limits, 1)],
                                   'fields', p_fields->(n % jsonb_array_length(p_fields)));
    IF cur IS NOT NULL THEN q := q || jsonb_build_object('cursor', cur); END IF;
    res := metastore.search_records(p_ns, q);
    pages := pages || jsonb_build_array((
      SELECT coalesce(jsonb_agg(jsonb_build_array(coalesce(i->>'namespace', p_ns), i->>'key') ORDER BY o), '[]')
        FROM jsonb_array_elements(res->'items') WITH ORDINALITY AS t(i, o)));
    cur := res->>'next_cursor';
    n := n + 1;
    EXIT WHEN cur IS NULL OR n >= 1000;
  END LOOP;
  RAISE EXCEPTION USING ERRCODE = 'P0099';    -- undo the writes
EXCEPTION WHEN SQLSTATE 'P0099' THEN
  RETURN jsonb_build_object('pages', pages);
WHEN OTHERS THEN
  RETURN jsonb_build_object('error', SQLSTATE, 'message', SQLERRM, 'pages', pages, 'page', n);
END
\$fn\$;
SELECT 'R' || E'\\t' || i || E'\\t' || dense_rank() OVER (ORDER BY v) FROM rv;
SELECT 'S' || E'\\t' || id || E'\\t' || encode(convert_to(pg_temp.run_one(ns, doc, limits, fields, writes)::text, 'UTF8'), 'hex')
  FROM q ORDER BY id;
SELECT 'C' || E'\\t' || count(*) || E'\\t' || max(version) FROM metastore.records WHERE deleted_at IS NULL;
SQL
    my $t = Time::HiRes::time();
    my ($ok, $out, $err) = psql($DB, $sql);
    ok($ok, 'searches ran') or BAIL_OUT("search run failed: $err");
    note(sprintf('database: %.1fs for %d runs', Time::HiRes::time() - $t, scalar @RUNS));
    for my $line (@$out) {
        my ($tag, $id, $rest) = split /\t/, $line, 3;
        if ($tag eq 'R') { $RANKVAL{ $rv[ $id - 1 ] } = 0 + $rest }
        elsif ($tag eq 'S') { $RESULT{$id} = plain(jparse(unhex($rest))) }
        elsif ($tag eq 'C') { $RESULT{count} = $id; $RESULT{maxver} = $rest }
    }
    is("$RESULT{count}/$RESULT{maxver}", scalar(@LIVE) . '/' . max(map { $_->{version} } @LIVE),
        'the writes between pages were rolled back');
}
for my $r (grep { $_->{match} } @RUNS) { $r->{expect} = ref_order($r->{match}, $r->{sort}) }

# ---------------------------------------------------------------- compare
my %WRITE_STATS = (skipped => 0, new => 0);
sub show { my $id = shift; my ($ns, $k) = split /\t/, $id, 2; my $s = vis("$ns/$k"); $s .= ' (soft-deleted)' if $DELETED{$id}; $s }

sub check_run {
    my $run = shift;
    my $res = $RESULT{ $run->{id} } or return 'no result from the database';
    my @probs;
    if ($res->{error}) {
        return "error $res->{error}: $res->{message} (on page " . (($res->{page} // 0) + 1) . ')';
    }
    my @pages = @{ $res->{pages} };
    my @got = map { join("\t", map { $_ // '(null)' } @$_) } map { @$_ } @pages;
    my @exp = @{ $run->{expect} };
    my %e0 = map { ($_ => 1) } @exp;
    if (my $t = $run->{touched}) {    # written between pages: only records that stay put are checked
        my %seen = map { ($_ => 1) } @got;
        $WRITE_STATS{skipped} += grep { $t->{$_} && !$seen{$_} } @exp;    # deleted or changed before their page
        $WRITE_STATS{new} += grep { $t->{$_} && !$e0{$_} } keys %seen;      # written into a later page
        @got = grep { !$t->{$_} } @got;
        @exp = grep { !$t->{$_} } @exp;
    }
    my %g;
    my @dup = grep { $g{$_}++ } @got;
    push @probs, 'returned twice: ' . join(', ', map { show($_) } uniq @dup) if @dup;
    my %e = map { ($_ => 1) } @exp;
    my @only_db  = grep { !$e{$_} } uniq @got;
    my @only_ref = grep { !$g{$_} } @exp;
    if (@only_db || @only_ref) {
        my $cut = sub { my @l = @_; (@l > 15 ? join(', ', map { show($_) } @l[0 .. 14]) . sprintf(' ... (%d in all)', scalar @l) : join(', ', map { show($_) } @l)) || '-' };
        push @probs, sprintf('got %d, expected %d; only in the database: %s; only in the reference: %s',
            scalar @got, scalar @exp, $cut->(@only_db), $cut->(@only_ref));
    }
    elsif (!@dup) {
        my $i = first { $got[$_] ne $exp[$_] } 0 .. $#exp;
        if (defined $i) {
            my $lo = max(0, $i - 2);
            my $hi = min($#exp, $i + 3);
            push @probs, sprintf('order differs at position %d: database %s; reference %s', $i,
                join(' | ', map { show($_) } @got[$lo .. $hi]), join(' | ', map { show($_) } @exp[$lo .. $hi]));
        }
    }
    my @lim = @{ $run->{limits} || [1000] };
    for my $p (0 .. $#pages) {
        my $l = $lim[ $p % @lim ];
        my $n = @{ $pages[$p] };
        if ($n > $l) { push @probs, "page " . ($p + 1) . " has $n items, limit $l"; last }
        if ($p < $#pages && $n < $l) { push @probs, "page " . ($p + 1) . " has $n items (limit $l) but a next_cursor"; last }
        if ($p == $#pages && $p > 0 && $n == 0 && !$run->{touched}) { push @probs, 'the page holding the last record had a next_cursor (an empty last page followed)'; last }
    }
    return @probs ? join("\n  ", @probs) : undef;
}

my %bygroup;
push @{ $bygroup{ $_->{group} } }, $_ for @RUNS;
my $fails = 0;
for my $group ('edge cases', 'random', 'paged', 'paged with writes between pages') {
    my @runs = @{ $bygroup{$group} || [] };
    my $size = $group =~ /paged/ ? 40 : 100;
    while (my @chunk = splice(@runs, 0, $size)) {
        my @bad;
        for my $run (@chunk) {
            my $p = check_run($run);
            push @bad, [$run, $p] if defined $p;
        }
        my $name = sprintf('%s: runs %d-%d (%d)', $group, $chunk[0]{id}, $chunk[-1]{id}, scalar @chunk);
        ok(!@bad, $name) or do {
            $fails += @bad;
            diag(sprintf('%d of %d differ', scalar @bad, scalar @chunk));
            for my $b (@bad) {
                my $run = $b->[0];
                my $w = $run->{writes} // '';
                $w = substr($w, 0, 1500) . '...' if length $w > 1500;
                diag(sprintf("run %d, namespace %s, query %s%s\n  %s", $run->{id}, $run->{ns} // 'NULL', vis($run->{doc}),
                    vis(($run->{limits} ? ' limits ' . join('/', @{ $run->{limits} }) : '')
                      . ($run->{fields} && @{ $run->{fields} } > 1 ? ' fields ' . join(' / ', @{ $run->{fields} }) : '')
                      . ($w ? " writes after each page (rolled back after the run) $w" : '')),
                    vis($b->[1])));
            }
        };
    }
}
if ($bygroup{'paged with writes between pages'}) {
    note("writes between pages: $WRITE_STATS{skipped} expected records were written before their page came,"
      . " $WRITE_STATS{new} written records showed up on a later page");
    ok($WRITE_STATS{skipped} > 0 && $WRITE_STATS{new} > 0, 'the writes between pages changed what later pages held');
}
psql('postgres', "DROP DATABASE IF EXISTS $DB WITH (FORCE);\n") unless $ENV{METASTORE_SEARCH_KEEP};
note(sprintf('%d runs differ; %.1fs in all', $fails, Time::HiRes::time() - $T0));
done_testing();
