# CPU per scrape and RSS against the number of targets, from the data file bench/report.py
# writes (columns: targets, CPU µs per scrape, CPU µs per scrape without /metrics renders,
# RSS MB, RSS MB after removing every target, baseline RSS MB).
# Usage: gnuplot -e "data='scale.dat'; out='scale.png'" bench/scale.gp
set terminal pngcairo size 900,380 font 'sans,9'
set output out
set multiplot layout 1,2
set logscale x 10
set xrange [50:20000]
set xlabel 'targets'
set grid
set key below

set title 'collector CPU per scrape (end to end)'
set ylabel 'µs of CPU per scrape'
set yrange [0:*]
plot data using 1:2 with linespoints lw 2 pt 7 title 'all threads', \
     data using 1:3 with linespoints lw 2 pt 5 title 'without /metrics renders', \
     50 with lines dt 2 lw 2 lc rgb 'red' title 'goal: 50 µs'

set title 'collector RSS'
set ylabel 'MB'
set yrange [0:*]
plot data using 1:4 with linespoints lw 2 pt 7 title 'loaded (peak in the window)', \
     data using 1:5 with linespoints lw 2 pt 5 title 'after two add/remove cycles', \
     data using 1:6 with lines lw 1 title 'baseline (0 targets)', \
     '-' using 1:2 with points pt 2 ps 2 lw 2 lc rgb 'red' title 'goal: 200 MB at 10,000'
10000 200
e
unset multiplot
