def test_probe(live, new_context):
    page = new_context(viewport={"width": 360, "height": 800}).new_page()
    for path in ["/veranstaltungen/fachtag-migration-2025", "/berichte/fachtag-migration-2025"]:
        page.goto(path)
        res = page.evaluate("""() => { const w = document.documentElement.clientWidth; const out = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          let n; while ((n = walker.nextNode())) { const r = document.createRange(); r.selectNodeContents(n);
            for (const rect of r.getClientRects()) if (rect.right > w + 0.5) { out.push(n.parentElement.tagName + '.' + n.parentElement.className + ' ' + Math.round(rect.right) + ' ' + n.textContent.trim().slice(0, 80)); break; } }
          return out.slice(0, 15); }""")
        print(path, res)
