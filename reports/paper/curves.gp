# Training curves — written by rethink report; run: gnuplot curves.gp (in this folder) to redraw
# curves.png and curves.svg from the data files beside it.
set terminal pngcairo size 880,420 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "curves.png"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set multiplot layout 1,2 title 'Training curves: selftrain, S1, 20 % labelled' font "sans-serif,14"
set key inside top right vertical spacing 1.1 opaque
set offsets 0, 0, graph 0.35, 0
set xlabel "epoch"
set ylabel "training loss"
set title "loss per epoch"
plot  "curves.dat" index 0 using 1:2 with linespoints lw 1.6 pt 7 ps 0.6 lc rgb "#0072B2" title "seed 1", \
     "curves.dat" index 1 using 1:2 with lines lw 1.3 dt 2 lc rgb "#0072B2" notitle, \
     NaN with lines lw 1.3 dt 2 lc rgb "#666666" title "dashed: pseudo-label loss"
set offsets 0, 0, 0, 0
set key inside bottom right
set ylabel "AP (COCO, ×100)"
set yrange [0<*:*<100]
set title "dev AP (dashed) per epoch"
plot  "curves.dat" index 3 using 1:2 with linespoints lw 1.4 dt 2 pt 6 ps 0.7 lc rgb "#0072B2" title "seed 1, dev"
unset multiplot
unset output
set terminal svg size 880,420 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "curves.svg"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set multiplot layout 1,2 title 'Training curves: selftrain, S1, 20 % labelled' font "sans-serif,14"
set key inside top right vertical spacing 1.1 opaque
set offsets 0, 0, graph 0.35, 0
set xlabel "epoch"
set ylabel "training loss"
set title "loss per epoch"
plot  "curves.dat" index 0 using 1:2 with linespoints lw 1.6 pt 7 ps 0.6 lc rgb "#0072B2" title "seed 1", \
     "curves.dat" index 1 using 1:2 with lines lw 1.3 dt 2 lc rgb "#0072B2" notitle, \
     NaN with lines lw 1.3 dt 2 lc rgb "#666666" title "dashed: pseudo-label loss"
set offsets 0, 0, 0, 0
set key inside bottom right
set ylabel "AP (COCO, ×100)"
set yrange [0<*:*<100]
set title "dev AP (dashed) per epoch"
plot  "curves.dat" index 3 using 1:2 with linespoints lw 1.4 dt 2 pt 6 ps 0.7 lc rgb "#0072B2" title "seed 1, dev"
unset multiplot
unset output
