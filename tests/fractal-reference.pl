#!/usr/bin/perl
# The reference for mmfractal's image, written from mmfractal(1) alone and
# slowly: perl WIDTH HEIGHT ITERATIONS X0 X1 Y0 Y1 > image.bmp
use strict;
use warnings;

my ($width, $height, $limit, $x0, $x1, $y0, $y1) = @ARGV;
die "usage: $0 WIDTH HEIGHT ITERATIONS X0 X1 Y0 Y1\n" unless defined $y1;

# Red, green, blue for an escape count modulo 16.
my @palette = ([66, 30, 15], [25, 7, 26], [9, 1, 47], [4, 4, 73],
               [0, 7, 100], [12, 44, 138], [24, 82, 177], [57, 125, 209],
               [134, 181, 229], [211, 236, 248], [241, 233, 191],
               [248, 201, 95], [255, 170, 0], [204, 128, 0], [153, 87, 0],
               [106, 52, 3]);

sub count {
    my ($cx, $cy) = @_;
    my ($x, $y, $n) = (0.0, 0.0, 0);
    for (; $n < $limit; $n++) {
        my ($xx, $yy) = ($x * $x, $y * $y);
        last if $xx + $yy > 4.0;
        $y = 2.0 * $x * $y + $cy;
        $x = $xx - $yy + $cx;
    }
    return $n;
}

my $dx = $width > 1 ? ($x1 - $x0) / ($width - 1) : 0.0;
my $dy = $height > 1 ? ($y1 - $y0) / ($height - 1) : 0.0;
my $stride = int(($width * 3 + 3) / 4) * 4;
my $pixels = '';
for my $row (0 .. $height - 1) {           # the bottom row first
    my $cy = $y0 + $row * $dy;
    my $line = '';
    for my $column (0 .. $width - 1) {
        my $n = count($x0 + $column * $dx, $cy);
        my ($r, $g, $b) = $n == $limit ? (0, 0, 0) : @{$palette[$n % 16]};
        $line .= pack 'C3', $b, $g, $r;
    }
    $pixels .= $line . "\0" x ($stride - 3 * $width);
}
binmode STDOUT;
print pack('A2 V v v V', 'BM', 54 + length $pixels, 0, 0, 54),
      pack('V l l v v V V l l V V', 40, $width, $height, 1, 24, 0,
           length $pixels, 2835, 2835, 0, 0),
      $pixels;
