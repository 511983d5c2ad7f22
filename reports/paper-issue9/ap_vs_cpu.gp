# AP vs compute — written by rethink report; run `gnuplot ap_vs_cpu.gp` in this folder to redraw
# ap_vs_cpu.png and ap_vs_cpu.svg from the data files beside it.
set terminal pngcairo size 880,460 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "ap_vs_cpu.png"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set title "AP vs compute per trial (mean over seeds, 95 % CI)" font "sans-serif,14"
set xlabel "CPU seconds per trial (self-training includes its teacher)"
set ylabel "AP (COCO, ×100)"
set grid xtics ytics
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot  "ap_vs_cpu.dat" index 0 using 1:2:3:4 with yerrorbars title "scratch" lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_cpu.dat" index 1 using 1:2:3:4 with yerrorbars title "pretrain" lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_cpu.dat" index 2 using 1:2:3:4 with yerrorbars title "selftrain" lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_cpu.dat" index 3 using 1:2:3:4 with yerrorbars title "pretrain+selftrain" lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1
unset output
set terminal svg size 880,460 noenhanced font "sans-serif,12" linewidth 1.3 rounded background "#ffffff"
set output "ap_vs_cpu.svg"
reset
set border 3 lw 1
set tics nomirror out
set grid ytics lc rgb "#d8d8d8" lw 1 dt 1
set key below horizontal spacing 1.2 width 1
set datafile missing "?"
set title "AP vs compute per trial (mean over seeds, 95 % CI)" font "sans-serif,14"
set xlabel "CPU seconds per trial (self-training includes its teacher)"
set ylabel "AP (COCO, ×100)"
set grid xtics ytics
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot  "ap_vs_cpu.dat" index 0 using 1:2:3:4 with yerrorbars title "scratch" lc rgb "#000000" pt 7 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_cpu.dat" index 1 using 1:2:3:4 with yerrorbars title "pretrain" lc rgb "#0072B2" pt 5 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_cpu.dat" index 2 using 1:2:3:4 with yerrorbars title "selftrain" lc rgb "#D55E00" pt 9 ps 1.1 lw 1.6 dt 1, \
     "ap_vs_cpu.dat" index 3 using 1:2:3:4 with yerrorbars title "pretrain+selftrain" lc rgb "#009E73" pt 13 ps 1.1 lw 1.6 dt 1
unset output
