/* Pipeday TV: the prize wheel on a canvas, drawn as bot/render/wheel_gif.py draws the GIF. */
(function () {
  "use strict";

  // Angles in degrees clockwise from 12 o'clock, as bot/render/wheel_gif.py draws them: the wheel
  // turns clockwise by `rotation`; the fixed pointer at the top points at wheel angle -rotation.
  function drawWheel(spin, rotation) {
    var canvas = document.getElementById("wheel"), g = canvas.getContext("2d");
    var size = canvas.width, c = size / 2, r = size * 0.44;
    g.clearRect(0, 0, size, size);
    var start = 0;
    spin.segments.forEach(function (segment) {
      var sweep = 360 * segment.share;
      var a0 = (start + rotation - 90) * Math.PI / 180, a1 = (start + sweep + rotation - 90) * Math.PI / 180;
      g.beginPath();
      g.moveTo(c, c);
      g.arc(c, c, r, a0, a1);
      g.closePath();
      g.fillStyle = segment.colour;
      g.fill();
      if (sweep >= 8) {
        // Along the radius, reading outward on the right half and inward on the left (as the GIF).
        var middle = (((start + sweep / 2 + rotation) % 360) + 360) % 360;
        var flipped = middle > 180;
        g.save();
        g.translate(c, c);
        g.rotate((a0 + a1) / 2 + (flipped ? Math.PI : 0));
        g.fillStyle = "#fff";
        g.strokeStyle = "#1c1c24";
        g.lineWidth = 5;
        g.font = "bold " + Math.min(34, Math.max(18, sweep * 0.9)) + "px 'Pipeday TV', sans-serif";
        g.textAlign = flipped ? "left" : "right";
        g.textBaseline = "middle";
        var label = fitText(g, segment.name, r * 0.7);
        var x = flipped ? -r * 0.88 : r * 0.88;
        g.strokeText(label, x, 0);
        g.fillText(label, x, 0);
        g.restore();
      }
      start += sweep;
    });
    g.beginPath();
    g.arc(c, c, r, 0, 2 * Math.PI);
    g.lineWidth = 10;
    g.strokeStyle = "#1c1c24";
    g.stroke();
    g.beginPath();
    g.arc(c, c, r * 0.1, 0, 2 * Math.PI);
    g.fillStyle = "#1c1c24";
    g.fill();
    // the pointer, at the top, pointing down into the wheel
    g.beginPath();
    g.moveTo(c - 34, c - r - 40);
    g.lineTo(c + 34, c - r - 40);
    g.lineTo(c, c - r + 34);
    g.closePath();
    g.fillStyle = "#eef2f8";
    g.strokeStyle = "#1c1c24";
    g.lineWidth = 6;
    g.stroke();
    g.fill();
  }

  function fitText(g, text, width) {
    if (g.measureText(text).width <= width) return text;
    var cut = text;
    while (cut.length > 1 && g.measureText(cut + "…").width > width) cut = cut.slice(0, -1);
    return cut + "…";
  }

  window.PipedayWheel = { draw: drawWheel };
})();
