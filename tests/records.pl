#!/usr/bin/perl
# The independent reference for mmsort's record mode (tests/mmsort-records.bats),
# in Perl's own unpack and sort, and the generator of its inputs.
#
#   records.pl sort RECORD OFFSET SIZE TYPE FLAGS FILE...   sorted records to stdout
#   records.pl gen COUNT RECORD OFFSET TYPE SEED            random records to stdout
#
# FLAGS: any of r (reverse), s (stable: ties in input order), u (unique:
# the first of each key in input order), or - for none.  Without s and u,
# ties are broken by the whole record, bytewise (reversed by r too).
use strict;
use warnings;
no warnings 'portable'; # 64-bit constants

my %format = (
    u8 => 'C', i8 => 'c', u16le => 'S<', u16be => 'S>', i16le => 's<',
    i16be => 's>', u32le => 'L<', u32be => 'L>', i32le => 'l<', i32be => 'l>',
    u64le => 'Q<', u64be => 'Q>', i64le => 'q<', i64be => 'q>',
    f32le => 'f<', f32be => 'f>', f64le => 'd<', f64be => 'd>',
);

# The unsigned format of the same width and byte order, for raw bits.
sub bits_format {
    my ($type) = @_;
    my %raw = (f32le => 'L<', f32be => 'L>', f64le => 'Q<', f64be => 'Q>');
    return $raw{$type} // uc $format{$type};
}

sub slurp {
    my ($name) = @_;
    local $/;
    open my $fh, '<:raw', $name or die "$name: $!";
    my $data = <$fh>;
    return defined $data ? $data : '';
}

sub sort_records {
    my ($size, $offset, $key_size, $type, $flags, @files) = @_;
    my $data = join '', map { slurp($_) } @files;
    my @records = unpack "(a$size)*", $data;
    my (@key, @nan);
    for my $i (0 .. $#records) {
        my $k = substr $records[$i], $offset, $key_size;
        if ($type ne 'bytes') {
            $k = unpack $format{$type}, $k;
            $nan[$i] = $k != $k ? 1 : 0;
            $k = 0 if $nan[$i] || $k == 0; # -0 is 0; NaNs are all equal
        }
        $key[$i] = $k;
    }
    my $reverse = $flags =~ /r/ ? -1 : 1;
    my $key_only = $flags =~ /[su]/;
    my $by_key = sub {
        my ($a, $b) = @_;
        return $key[$a] cmp $key[$b] if $type eq 'bytes';
        return ($nan[$a] <=> $nan[$b]) || ($key[$a] <=> $key[$b]);
    };
    my @order = sort {
        ($reverse * $by_key->($a, $b))
            || ($key_only ? $a <=> $b : $reverse * ($records[$a] cmp $records[$b]))
    } 0 .. $#records;
    if ($flags =~ /u/) {
        my @kept;
        for my $i (@order) {
            push @kept, $i unless @kept && $by_key->($kept[-1], $i) == 0;
        }
        @order = @kept;
    }
    binmode STDOUT;
    print @records[@order];
}

# COUNT records of RECORD bytes, from a small alphabet so that whole
# records repeat too, with a key of TYPE at OFFSET from a small pool of
# values: the extremes, zeros, and for floats NaNs, infinities and -0.
sub generate {
    my ($count, $size, $offset, $type, $seed) = @_;
    srand $seed;
    my @pool;
    if ($type eq 'bytes') {
        @pool = ("\x00", "\x01", "\x7f", "\x80", "\xff");
    } elsif ($type =~ /^f32/) {
        @pool = map { pack bits_format($type), $_ } 0x7fc00000, 0xffc00001,
            0x7f800000, 0xff800000, 0, 0x80000000, 0x3fc00000, 0xbfc00000,
            0x7f7fffff, 0xff7fffff, 1, 0x80000001, 0x7f800001;
    } elsif ($type =~ /^f64/) {
        @pool = map { pack bits_format($type), $_ } 0x7ff8000000000000,
            0xfff8000000000001, 0x7ff0000000000000, 0xfff0000000000000, 0,
            0x8000000000000000, 0x3ff8000000000000, 0xbff8000000000000,
            0x7fefffffffffffff, 1, 0x8000000000000001, 0x7ff0000000000001;
    } else {
        my $bits = bits_format($type);
        my $width = length pack $bits, 0;
        my $max = $width == 8 ? ~0 : 2**(8 * $width) - 1;
        @pool = map { pack $bits, $_ } grep { $_ <= $max } 0, 1, 2, 255, 256,
            $max, $max - 1, int($max / 2), int($max / 2) + 1, int(rand($max));
    }
    binmode STDOUT;
    for (1 .. $count) {
        my $record = join '', map { chr int rand 3 } 1 .. $size;
        my $key = $type eq 'bytes'
            ? join('', map { $pool[rand @pool] } 1 .. ($size - $offset > 2 ? 2 : 1))
            : $pool[rand @pool];
        substr($record, $offset, length $key) = $key;
        print $record;
    }
}

my $command = shift @ARGV // '';
if ($command eq 'sort') {
    sort_records(@ARGV);
} elsif ($command eq 'gen') {
    generate(@ARGV);
} else {
    die "usage: records.pl sort|gen ...\n";
}
