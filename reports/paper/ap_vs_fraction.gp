# AP vs labelled fraction — written by rethink report; run: gnuplot ap_vs_fraction.gp (in this folder) to redraw
# ap_vs_fraction.png and ap_vs_fraction.svg from the data files beside it.
set terminal pngcairo size 880,840 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "ap_vs_fraction.png"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set multiplot title 'AP vs labelled data (mean over seeds, 95 % CI)' font "sans-serif,14"
unset key
set xrange [13.2:106.8]
set xtics ("20" 20, "50" 50, "100" 100)
set xlabel "labelled fraction of the training set (%)"
set ylabel "AP (COCO, ×100)"
set yrange [0<*:*<100]
set origin 0.00000,0.51905
set size 0.50000,0.42857
set title 'augmentation S1'
plot  "ap_vs_fraction.dat" index 0 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 1 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 2 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 3 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 4 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 5 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.50000,0.51905
set size 0.50000,0.42857
set title 'augmentation S2'
plot  "ap_vs_fraction.dat" index 6 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 7 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 8 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 9 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 10 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 11 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.00000,0.09048
set size 0.50000,0.42857
set title 'augmentation S3'
plot  "ap_vs_fraction.dat" index 12 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 13 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 14 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 15 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 16 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 17 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.50000,0.09048
set size 0.50000,0.42857
set title 'augmentation S4'
plot  "ap_vs_fraction.dat" index 18 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 19 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 20 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 21 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 22 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 23 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0,0
set size 1,0.09048
unset border
unset tics
unset xlabel
unset ylabel
unset title
unset grid
unset logscale
set xrange [0:1]
set yrange [0:1]
set key center center horizontal maxcols 3 samplen 3 spacing 1.2 width 2
plot  "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'scratch' lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain' lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'selftrain' lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+selftrain' lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'continue' lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+continue' lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
unset multiplot
unset output
set terminal svg size 880,840 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "ap_vs_fraction.svg"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set multiplot title 'AP vs labelled data (mean over seeds, 95 % CI)' font "sans-serif,14"
unset key
set xrange [13.2:106.8]
set xtics ("20" 20, "50" 50, "100" 100)
set xlabel "labelled fraction of the training set (%)"
set ylabel "AP (COCO, ×100)"
set yrange [0<*:*<100]
set origin 0.00000,0.51905
set size 0.50000,0.42857
set title 'augmentation S1'
plot  "ap_vs_fraction.dat" index 0 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 1 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 2 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 3 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 4 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 5 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.50000,0.51905
set size 0.50000,0.42857
set title 'augmentation S2'
plot  "ap_vs_fraction.dat" index 6 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 7 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 8 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 9 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 10 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 11 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.00000,0.09048
set size 0.50000,0.42857
set title 'augmentation S3'
plot  "ap_vs_fraction.dat" index 12 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 13 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 14 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 15 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 16 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 17 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.50000,0.09048
set size 0.50000,0.42857
set title 'augmentation S4'
plot  "ap_vs_fraction.dat" index 18 using ($1+-3.15):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 19 using ($1+-1.89):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 20 using ($1+-0.63):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 21 using ($1+0.63):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 22 using ($1+1.89):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_fraction.dat" index 23 using ($1+3.15):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0,0
set size 1,0.09048
unset border
unset tics
unset xlabel
unset ylabel
unset title
unset grid
unset logscale
set xrange [0:1]
set yrange [0:1]
set key center center horizontal maxcols 3 samplen 3 spacing 1.2 width 2
plot  "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'scratch' lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain' lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'selftrain' lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+selftrain' lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'continue' lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+continue' lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
unset multiplot
unset output
