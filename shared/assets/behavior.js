// The behavioral bundle of /h-pro.js, inlined into the collector: counts and timings only,
// never which keys or where.
var B = { moves: 0, dist: 0, keys: 0, gaps: [], scrolls: 0, touches: 0, focus: 0, x: null, y: null, lastKey: 0, start: Date.now() };
w.addEventListener("pointermove", function (e) {
  B.moves++;
  if (B.x !== null) B.dist += Math.sqrt((e.clientX - B.x) * (e.clientX - B.x) + (e.clientY - B.y) * (e.clientY - B.y));
  B.x = e.clientX; B.y = e.clientY;
}, { passive: true });
w.addEventListener("keydown", function () {
  var t = Date.now();
  if (B.lastKey && B.gaps.length < 200) B.gaps.push(t - B.lastKey);
  B.lastKey = t; B.keys++;
}, { passive: true, capture: true });
w.addEventListener("scroll", function () { B.scrolls++; }, { passive: true });
w.addEventListener("touchstart", function () { B.touches++; }, { passive: true });
w.addEventListener("focus", function () { B.focus++; });
w.addEventListener("blur", function () { B.focus++; });
function behavior() {
  var n = B.gaps.length, mean = 0, sd = 0, i;
  for (i = 0; i < n; i++) mean += B.gaps[i];
  mean = n ? mean / n : 0;
  for (i = 0; i < n; i++) sd += (B.gaps[i] - mean) * (B.gaps[i] - mean);
  sd = n > 1 ? Math.sqrt(sd / (n - 1)) : 0;
  return {
    pointer_moves: B.moves, pointer_distance_px: Math.round(B.dist), keystrokes: B.keys,
    key_interval_mean_ms: Math.round(mean), key_interval_sd_ms: Math.round(sd),
    scrolls: B.scrolls, touches: B.touches, focus_changes: B.focus, active_ms: Date.now() - B.start
  };
}
