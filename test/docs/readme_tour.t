#!/usr/bin/env perl
# README's SQL tour must run as written against `make run`'s demo data:
# each statement of the ```sql block succeeds in a fresh database.
use strict;
use warnings;
use Test::More;
use FindBin;

my $root = "$FindBin::Bin/../..";
open my $fh, '<', "$root/README.md" or die $!;
my $readme = do { local $/; <$fh> };
my ($tour) = $readme =~ /^## A five-minute SQL tour\n.*?^```sql\n(.*?)^```/ms;
ok(defined $tour && length $tour, 'README has the SQL tour block');

my $db = "metastore_readme_tour";
system("dropdb --if-exists $db >/dev/null 2>&1");
is(system("createdb $db"), 0, "created database $db");
my $psql = "psql -X -q -v ON_ERROR_STOP=1 -d $db";
is(system("$psql -c 'CREATE EXTENSION metastore' >/dev/null"), 0, 'CREATE EXTENSION metastore');
is(system("$psql -f $root/scripts/demo.sql >/dev/null"), 0, 'demo data loads');
is(system("$psql -f $root/scripts/demo.sql >/dev/null"), 0, 'demo data loads again (idempotent)');

# run the statements one by one so a failure names the statement
my @stmts = grep { /\S/ } split /;\s*\n/, join("\n", grep { !/^\s*--/ } split /\n/, $tour);
for my $i (0 .. $#stmts) {
    my $sql = $stmts[$i];
    open my $p, '|-', "$psql >/dev/null" or die $!;
    print $p "$sql;\n";
    close $p;
    (my $label = $sql) =~ s/\s+/ /g;
    is($?, 0, "tour statement " . ($i + 1) . " runs: " . substr($label, 0, 70));
}
system("dropdb $db");
done_testing();
