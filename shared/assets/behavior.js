// The behavioral bundle of /h-pro.js, inlined into the collector: counts and timings only,
// never which keys or where. Key codes are held in memory only to pair a key's down and up.
var B = { moves: 0, dist: 0, keys: 0, gaps: [], holds: [], down: {}, scrolls: 0, touches: 0, focus: 0,
  untrusted: 0, first: null, x: null, y: null, lastMove: 0, lastKey: 0, start: Date.now(),
  strokes: [], sx: 0, sy: 0, sLen: 0, sMoves: 0, speeds: [] };
function seen(e) {
  if (e.isTrusted === false) { B.untrusted++; return false; }
  if (B.first === null) B.first = Date.now() - B.start;
  return true;
}
// A stroke is a run of pointer moves without a pause of 250 ms; its straightness is the
// distance between its ends over the path's length.
function endStroke() {
  if (B.sMoves >= 5 && B.sLen > 0 && B.strokes.length < 100) {
    var dx = B.x - B.sx, dy = B.y - B.sy;
    B.strokes.push(Math.min(1, Math.sqrt(dx * dx + dy * dy) / B.sLen));
  }
  B.sMoves = 0; B.sLen = 0; B.sx = B.x; B.sy = B.y;
}
w.addEventListener("pointermove", function (e) {
  if (!seen(e)) return;
  var t = Date.now();
  if (B.x === null || t - B.lastMove > 250) { if (B.x !== null) endStroke(); B.sx = e.clientX; B.sy = e.clientY; }
  if (B.x !== null && t - B.lastMove <= 250) {
    var step = Math.sqrt((e.clientX - B.x) * (e.clientX - B.x) + (e.clientY - B.y) * (e.clientY - B.y));
    B.dist += step; B.sLen += step; B.sMoves++;
    if (t > B.lastMove && B.speeds.length < 500) B.speeds.push(step / (t - B.lastMove));
  }
  B.x = e.clientX; B.y = e.clientY; B.lastMove = t; B.moves++;
}, { passive: true, capture: true });
w.addEventListener("keydown", function (e) {
  if (!seen(e) || e.repeat) return;
  var t = Date.now();
  // Pauses over 3 s are thinking, not typing rhythm.
  if (B.lastKey && t - B.lastKey < 3000 && B.gaps.length < 200) B.gaps.push(t - B.lastKey);
  B.lastKey = t; B.keys++; B.down[e.code] = t;
}, { passive: true, capture: true });
w.addEventListener("keyup", function (e) {
  var t0 = B.down[e.code];
  if (e.isTrusted === false || !t0) return;
  delete B.down[e.code];
  if (B.holds.length < 200 && Date.now() - t0 < 2000) B.holds.push(Date.now() - t0);
}, { passive: true, capture: true });
["click", "input", "touchstart", "mousedown"].forEach(function (type) {
  w.addEventListener(type, function (e) { if (seen(e) && type === "touchstart") B.touches++; }, { passive: true, capture: true });
});
w.addEventListener("scroll", function (e) { if (e.isTrusted !== false) B.scrolls++; }, { passive: true });
w.addEventListener("focus", function () { B.focus++; });
w.addEventListener("blur", function () { B.focus++; });
function stats(list) {
  var n = list.length, mean = 0, sd = 0, i;
  if (!n) return [null, null];
  for (i = 0; i < n; i++) mean += list[i];
  mean /= n;
  for (i = 0; i < n; i++) sd += (list[i] - mean) * (list[i] - mean);
  return [Math.round(mean * 10) / 10, n > 1 ? Math.round(Math.sqrt(sd / (n - 1)) * 10) / 10 : 0];
}
function bucket(v, edges) { var i = 0; if (v === null) return "-"; while (i < edges.length && v >= edges[i]) i++; return i; }
// The evidence, and a coarse behavioral signature once there is enough of it (10 keystrokes,
// 30 pointer moves or 5 touches): the typing cadence, key hold, pointer speed and the input
// modality in a few buckets each, joined with the device's coarse class so that people with
// the same habits on different devices do not share a signature.
function behavior(c) {
  if (B.x !== null) endStroke();
  var gaps = stats(B.gaps), holds = stats(B.holds), speed = stats(B.speeds), straight = stats(B.strokes);
  var evidence = {
    pointerMoves: B.moves, pointerDistancePx: Math.round(B.dist), pointerStraightness: straight[0],
    keystrokes: B.keys, keyIntervalMeanMs: gaps[0], keyIntervalSdMs: gaps[1], keyHoldMeanMs: holds[0],
    scrolls: B.scrolls, touches: B.touches, focusChanges: B.focus, untrustedEvents: B.untrusted,
    firstInteractionMs: B.first, activeMs: Date.now() - B.start
  };
  var signature = null;
  if (B.keys >= 10 || B.moves >= 30 || B.touches >= 5) {
    var habits = [B.touches ? "t" : B.moves ? "p" : "k", bucket(gaps[0], [120, 200, 320, 500]),
      bucket(holds[0], [70, 100, 140]), bucket(speed[0], [0.3, 0.8, 1.6, 3])].join("");
    var device = [c.screen, c.timezone, c.platform, c.hardware_concurrency, (c.languages || [])[0]].join("|");
    signature = "bh1." + habits + "." + hash(habits + "|" + device).slice(0, 16);
  }
  return { evidence: evidence, signature: signature };
}
