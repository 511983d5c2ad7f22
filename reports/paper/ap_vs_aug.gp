# AP vs augmentation strength — written by rethink report; run: gnuplot ap_vs_aug.gp (in this folder) to redraw
# ap_vs_aug.png and ap_vs_aug.svg from the data files beside it.
set terminal pngcairo size 1320,480 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "ap_vs_aug.png"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set multiplot title 'AP vs augmentation strength (mean over seeds, 95 % CI)' font "sans-serif,14"
unset key
set xtics ('S1' 0, 'S2' 1, 'S3' 2, 'S4' 3)
set xrange [-0.4:3.4]
set xlabel "augmentation policy (stronger to the right)"
set ylabel "AP (COCO, ×100)"
set yrange [0<*:*<100]
set origin 0.00000,0.15833
set size 0.33333,0.75000
set title "20 % of the labelled data"
plot  "ap_vs_aug.dat" index 0 using ($1+-0.125):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 1 using ($1+-0.075):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 2 using ($1+-0.025):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 3 using ($1+0.025):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 4 using ($1+0.075):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 5 using ($1+0.125):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.33333,0.15833
set size 0.33333,0.75000
set title "50 % of the labelled data"
plot  "ap_vs_aug.dat" index 6 using ($1+-0.125):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 7 using ($1+-0.075):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 8 using ($1+-0.025):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 9 using ($1+0.025):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 10 using ($1+0.075):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 11 using ($1+0.125):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.66667,0.15833
set size 0.33333,0.75000
set title "100 % of the labelled data"
plot  "ap_vs_aug.dat" index 12 using ($1+-0.125):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 13 using ($1+-0.075):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 14 using ($1+-0.025):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 15 using ($1+0.025):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 16 using ($1+0.075):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 17 using ($1+0.125):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0,0
set size 1,0.15833
unset border
unset tics
unset xlabel
unset ylabel
unset title
unset grid
unset logscale
set xrange [0:1]
set yrange [0:1]
set key center center horizontal maxcols 5 samplen 3 spacing 1.2 width 2
plot  "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'scratch' lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain' lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'selftrain' lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+selftrain' lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'continue' lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+continue' lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
unset multiplot
unset output
set terminal svg size 1320,480 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "ap_vs_aug.svg"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set multiplot title 'AP vs augmentation strength (mean over seeds, 95 % CI)' font "sans-serif,14"
unset key
set xtics ('S1' 0, 'S2' 1, 'S3' 2, 'S4' 3)
set xrange [-0.4:3.4]
set xlabel "augmentation policy (stronger to the right)"
set ylabel "AP (COCO, ×100)"
set yrange [0<*:*<100]
set origin 0.00000,0.15833
set size 0.33333,0.75000
set title "20 % of the labelled data"
plot  "ap_vs_aug.dat" index 0 using ($1+-0.125):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 1 using ($1+-0.075):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 2 using ($1+-0.025):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 3 using ($1+0.025):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 4 using ($1+0.075):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 5 using ($1+0.125):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.33333,0.15833
set size 0.33333,0.75000
set title "50 % of the labelled data"
plot  "ap_vs_aug.dat" index 6 using ($1+-0.125):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 7 using ($1+-0.075):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 8 using ($1+-0.025):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 9 using ($1+0.025):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 10 using ($1+0.075):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 11 using ($1+0.125):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0.66667,0.15833
set size 0.33333,0.75000
set title "100 % of the labelled data"
plot  "ap_vs_aug.dat" index 12 using ($1+-0.125):2:3:4 with yerrorlines notitle lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 13 using ($1+-0.075):2:3:4 with yerrorlines notitle lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 14 using ($1+-0.025):2:3:4 with yerrorlines notitle lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 15 using ($1+0.025):2:3:4 with yerrorlines notitle lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 16 using ($1+0.075):2:3:4 with yerrorlines notitle lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_aug.dat" index 17 using ($1+0.125):2:3:4 with yerrorlines notitle lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
set origin 0,0
set size 1,0.15833
unset border
unset tics
unset xlabel
unset ylabel
unset title
unset grid
unset logscale
set xrange [0:1]
set yrange [0:1]
set key center center horizontal maxcols 5 samplen 3 spacing 1.2 width 2
plot  "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'scratch' lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain' lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'selftrain' lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+selftrain' lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'continue' lc rgb "#CC79A7" pt 11 ps 1.1 lw 1.6 dt 1, \
     "+" using (NaN):(NaN):(NaN):(NaN) with yerrorlines title 'pretrain+continue' lc rgb "#56B4E9" pt 15 ps 1.1 lw 1.6 dt 1
unset multiplot
unset output
