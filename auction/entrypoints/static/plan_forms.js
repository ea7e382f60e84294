// The supply plan's draft form: the area typed in m² is shown in 公顷 as well, exactly
// (1 公顷 = 10,000 m²; at most two decimals of m², so six of 公顷). The server shows the same.
"use strict";
(function () {
  const input = document.getElementById("f-area_m2");
  const out = document.getElementById("area-hectares");
  if (!input || !out) return;
  function show() {
    const m = /^\s*([0-9]+)(?:\.([0-9]{1,2}))?\s*$/.exec(input.value.replace(/,/g, ""));
    if (!m) { out.textContent = ""; return; }
    const hundredths = BigInt(m[1]) * 100n + BigInt((m[2] || "").padEnd(2, "0") || "0");
    const whole = hundredths / 1000000n;
    const rest = (hundredths % 1000000n).toString().padStart(6, "0").replace(/0+$/, "");
    out.textContent = "= " + whole.toString() + (rest ? "." + rest : "") + " " + window.Auction.tp("js.hectares");
  }
  input.addEventListener("input", show);
  show();
})();
