() => {
  // Every visible text's contrast against the colour behind it (WCAG 2 relative luminance):
  // [texts checked, those under 4.5:1]. Run by tests/test_app.py in the page.
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => { const a = top[3]; return [0,1,2].map(i => top[i]*a + under[i]*(1-a)).concat([1]); };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v/12.92 : Math.pow((v+0.055)/1.055, 2.4); };
    return 0.2126*f(c[0]) + 0.7152*f(c[1]) + 0.0722*f(c[2]); };
  const background = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = [255,255,255,1]; if (document.documentElement.classList.contains('dark') || document.body.classList.contains('dark')) bg = [11,15,25,1];
    for (const c of layers.reverse()) bg = over(c, bg); return bg; };
  const out = []; let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode; const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el)) continue; seen.add(el);
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || el.closest('[hidden], script, style, template, svg')) continue;
    const rect = el.getBoundingClientRect(); if (rect.width < 1 || rect.height < 1) continue;
    let hidden = false; for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e); if (s.display === 'none' || Number(s.opacity) === 0) { hidden = true; break; } }
    if (hidden || el.closest('button:disabled, input:disabled')) continue;
    const bg = background(el); const fg = over(parse(style.color), bg);
    const l1 = lum(fg), l2 = lum(bg); const ratio = (Math.max(l1,l2)+0.05)/(Math.min(l1,l2)+0.05);
    checked++; if (ratio < 4.5) out.push({text: node.textContent.trim().slice(0, 50), ratio: Math.round(ratio*100)/100, color: style.color, bg: 'rgb(' + bg.slice(0,3).join(',') + ')', tag: el.tagName, cls: String(el.className).slice(0,60)});
  }
  return [checked, out];
}
