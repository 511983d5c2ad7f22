# ΔAP vs scratch — written by rethink report; run: gnuplot delta_vs_scratch.gp (in this folder) to redraw
# delta_vs_scratch.png and delta_vs_scratch.svg from the data files beside it.
set terminal pngcairo size 1600,520 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "delta_vs_scratch.png"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set title "ΔAP against scratch, paired by seed (mean, 95 % CI)" font "sans-serif,14"
set style data histogram
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.85 border -1
set boxwidth 0.9
set xzeroaxis lt 1 lc rgb "#000000" lw 1.2
set xtics scale 0
set grid noxtics
set xlabel "cell (augmentation, labelled fraction)"
set ylabel "ΔAP vs scratch (AP points)"
set arrow from 3.5, graph 0 to 3.5, graph 1 nohead dt 3 lc rgb "#888888"
set arrow from 7.5, graph 0 to 7.5, graph 1 nohead dt 3 lc rgb "#888888"
plot  "delta_vs_scratch.dat" using 2:3:4:xtic(1) title 'pretrain' lc rgb "#0072B2", \
     "delta_vs_scratch.dat" using 6:7:8 title 'selftrain' lc rgb "#D55E00", \
     "delta_vs_scratch.dat" using 10:11:12 title 'pretrain+selftrain' lc rgb "#009E73", \
     "delta_vs_scratch.dat" using 14:15:16 title 'continue' lc rgb "#CC79A7", \
     "delta_vs_scratch.dat" using 18:19:20 title 'pretrain+continue' lc rgb "#56B4E9"
unset output
set terminal svg size 1600,520 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "delta_vs_scratch.svg"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set title "ΔAP against scratch, paired by seed (mean, 95 % CI)" font "sans-serif,14"
set style data histogram
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.85 border -1
set boxwidth 0.9
set xzeroaxis lt 1 lc rgb "#000000" lw 1.2
set xtics scale 0
set grid noxtics
set xlabel "cell (augmentation, labelled fraction)"
set ylabel "ΔAP vs scratch (AP points)"
set arrow from 3.5, graph 0 to 3.5, graph 1 nohead dt 3 lc rgb "#888888"
set arrow from 7.5, graph 0 to 7.5, graph 1 nohead dt 3 lc rgb "#888888"
plot  "delta_vs_scratch.dat" using 2:3:4:xtic(1) title 'pretrain' lc rgb "#0072B2", \
     "delta_vs_scratch.dat" using 6:7:8 title 'selftrain' lc rgb "#D55E00", \
     "delta_vs_scratch.dat" using 10:11:12 title 'pretrain+selftrain' lc rgb "#009E73", \
     "delta_vs_scratch.dat" using 14:15:16 title 'continue' lc rgb "#CC79A7", \
     "delta_vs_scratch.dat" using 18:19:20 title 'pretrain+continue' lc rgb "#56B4E9"
unset output
