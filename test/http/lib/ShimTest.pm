package ShimTest;
# Helpers for the HTTP tests: a client for the running shim (METASTORE_URL),
# and psql against its database (METASTORE_TEST_DB) to set up principals.
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;

our @EXPORT = qw(req psql principal_key json_body uniq);

my $base = $ENV{METASTORE_URL} or die "METASTORE_URL is not set\n";
my $db   = $ENV{METASTORE_TEST_DB} or die "METASTORE_TEST_DB is not set\n";
my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 30);
my $json = JSON::PP->new->canonical;
my $seq  = 0;

# A name no other test used: tests share one database.
sub uniq { my $p = shift; return sprintf('%s-%d-%d', $p, $$, ++$seq) }

# req(METHOD, PATH, key => K, body => REF|STRING, headers => {...}, type => CT)
# -> { status, headers, body (decoded JSON or undef), raw }
sub req {
    my ($method, $path, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{authorization} = "ApiKey $o{key}" if defined $o{key};
    my %args = (headers => \%h);
    if (exists $o{body}) {
        $args{content} = ref $o{body} ? $json->encode($o{body}) : $o{body};
        $h{'content-type'} = $o{type} // 'application/json';
    }
    my $r = $http->request($method, $base . $path, \%args);
    my $decoded;
    if (length($r->{content} // '') && ($r->{headers}{'content-type'} // '') =~ m{application/json}) {
        $decoded = eval { $json->decode($r->{content}) };
    }
    return { status => $r->{status}, headers => $r->{headers}, body => $decoded, raw => $r->{content} };
}

sub json_body { return $json->encode(shift) }

# Run SQL as the database superuser; returns the unaligned, tuples-only output.
sub psql {
    my $sql = shift;
    open my $p, '-|', 'psql', '-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-c', $sql
      or die "psql: $!";
    local $/;
    my $out = <$p>;
    close $p or die "psql failed for: $sql\n";
    $out =~ s/\s+\z//;
    return $out;
}

# A fresh principal with the given grants ([pattern, role], ...); returns its API key.
sub principal_key {
    my ($name, @grants) = @_;
    for my $g (@grants) {
        psql(qq{SELECT metastore."grant"('$name', '$g->[0]', '$g->[1]')});
    }
    return psql(qq{SELECT api_key FROM metastore.create_api_key('$name', 'http test')});
}

1;
