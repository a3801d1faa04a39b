#!/usr/bin/env perl
# docs/errors.md and src/errors.h must name the same SQLSTATEs with the same
# HTTP statuses, every code the C sources raise must come from src/errors.h,
# and each macro's value must be the code its comment claims.
use strict;
use warnings;
use Test::More;
use FindBin;

my $root = "$FindBin::Bin/../..";
sub rel { my $f = shift; $f =~ s{^\Q$root\E/}{}; $f }
sub slurp { my $f = shift; open my $fh, '<', $f or die "$f: $!"; local $/; <$fh> }

# standard PostgreSQL names -> codes, from the server headers
my %std;
my $errcodes = `$ENV{PG_CONFIG} --includedir-server 2>/dev/null` if $ENV{PG_CONFIG};
$errcodes ||= '/usr/include/postgresql/15/server';
chomp $errcodes;
for my $line (split /\n/, slurp("$errcodes/utils/errcodes.h")) {
    $std{$1} = "$2$3$4$5$6"
      if $line =~ /#define (ERRCODE_\w+) MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\)/;
}

my $header = slurp("$root/src/errors.h");
my (%hdr_http, %macro_code);
while ($header =~ m{/\*\s*([0-9A-Z]{5}):[^*]*\(HTTP (\d{3})[^*]*\*/\s*#define\s+(MS_ERRCODE_\w+)\s+(.+?)\s*$}mg) {
    my ($code, $http, $macro, $value) = ($1, $2, $3, $4);
    $hdr_http{$code} = $http;
    my $actual = $value =~ /MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\)/ ? "$1$2$3$4$5" : $std{$value};
    is($actual, $code, "$macro is $code as its comment says");
    $macro_code{$macro} = $code;
}
ok(scalar(keys %hdr_http) >= 5, 'src/errors.h documents its codes');

my %doc_http;
for my $line (split /\n/, slurp("$root/docs/errors.md")) {
    $doc_http{$1} = $2 if $line =~ /^\|\s*`([0-9A-Z]{5})`\s*\|[^|]*\|\s*(\d{3})\s*\|/;
}
for my $code (sort keys %hdr_http) {
    is($doc_http{$code}, $hdr_http{$code}, "docs/errors.md gives $code HTTP $hdr_http{$code}");
}
for my $code (sort keys %doc_http) {
    ok(exists $hdr_http{$code}, "docs/errors.md code $code is named in src/errors.h");
}

# every errcode(...) in C uses a macro from src/errors.h
for my $file (sort glob("$root/src/*.c")) {
    my $src = slurp($file);
    my @bad = grep { !exists $macro_code{$_} } ($src =~ /errcode\((\w+)\)/g);
    is_deeply(\@bad, [], rel($file) . " raises only codes named in src/errors.h");
}

# src/errors.c maps every named code to the status the docs give it
my $map = slurp("$root/src/errors.c");
while ($map =~ /\{(MS_ERRCODE_\w+),\s*(\d{3})\}/g) {
    my ($macro, $http) = ($1, $2);
    ok(exists $macro_code{$macro}, "src/errors.c maps $macro, a code of src/errors.h");
    is($http, $doc_http{ $macro_code{$macro} // '' }, "src/errors.c gives $macro HTTP $http as docs/errors.md does");
}

# the HTTP shim answers only with documented codes (or the 500 internal ones)
for my $file (sort glob("$root/http-shim/*.c")) {
    my $src = slurp($file);
    while ($src =~ /send_error\([^,]+,[^,]+,\s*(\d{3}),\s*"([0-9A-Z]{5})"/g) {
        my ($http, $code) = ($1, $2);
        next if $http == 500;
        is($doc_http{$code}, $http, rel($file) . " answers $code with HTTP $http as docs/errors.md does");
    }
}

# SQL install scripts: any ERRCODE they raise is documented
for my $file (sort glob("$root/sql/install/*.sql")) {
    my @codes = (slurp($file) =~ /ERRCODE\s*=\s*'([0-9A-Z]{5})'/g);
    my @bad = grep { !exists $doc_http{$_} } @codes;
    is_deeply(\@bad, [], rel($file) . " raises only documented codes");
}

done_testing();
