#!/usr/bin/env python3
"""Writes the seed inputs of every target into fuzz/corpus/<target>/ (run from
fuzz/: `python3 seeds/make_seeds.py`). Seeds are named `seed-*`; libFuzzer adds
its own (hash-named) inputs next to them, and `cargo fuzz cmin` keeps what adds
coverage."""
import json, pathlib, urllib.parse

root = pathlib.Path(__file__).resolve().parents[2]
fuzz = root / "fuzz"

def put(target, name, data):
    d = fuzz / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())

content = sorted(p for p in (root / "content").rglob("*.md"))

# front_matter: real content files, and a few broken ones.
for p in content:
    put("front_matter", p.relative_to(root / "content").as_posix().replace("/", "_"), p.read_bytes())
put("front_matter", "unclosed", "---\ntitle: x\n")
put("front_matter", "no-front-matter", "# Titre\n\ntexte\n")
put("front_matter", "anchors", "---\ntitle: &a x\nsummary: *a\ntags: [a, b, {c: d}]\n---\n")
put("front_matter", "types", "---\ntitle: 1\ndate: 2027-02-30\ndraft: oui\ncountries: Italie\npartners:\n  - school: A\n    country: Nowhere\n    extra: 1\n---\nbody\n")
put("front_matter", "crlf", "---\r\ntitle: \"x\"\r\n---\r\nbody\r\n")

# markdown: the bodies of the content files, and the renderer's edge cases.
for p in content:
    text = p.read_text()
    parts = text.split("\n---\n", 1)
    if len(parts) == 2 and parts[1].strip():
        put("markdown", p.relative_to(root / "content").as_posix().replace("/", "_"), parts[1])
put("markdown", "links", "[a](https://x.org \"t\") [b](@/projects/a.md#bilan) [c](javascript:alert(1)) <https://auto.link> [d](mailto:a@b.c) [e](tel:+33) [f](//evil.org/x)\n")
put("markdown", "images", "![alt](img.png \"t\") ![x](https://images.example.org/a.png) ![y](https://evil.org/a.png) ![z](data:image/png;base64,AAAA)\n")
put("markdown", "headings", "# Été {#id .cls onclick=x}\n\n## Contenu\n\n## Contenu\n\n### `code` *em*\n\nSetext\n===\n")
put("markdown", "table", "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n")
put("markdown", "raw-html", "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\ntext <b onmouseover=x>b</b> &amp; &lt;\n")
put("markdown", "misc", "- [ ] tâche\n- [x] faite\n\n1. un\n2. deux\n\n> « citation » : ici ; là ! ?\n\nnote[^1]\n\n[^1]: la note\n\n~~barré~~ \"guillemets\" 'apostrophe' -- --- ...\n\n```rust\nfn main() {}\n```\n\n    indented\n")

# form: urlencoded (`u…`) and multipart (`m<boundary>\n…`) bodies.
project = [
    ("title", "Rivières d'Europe"),
    ("summary", "Deux classes comparent la qualité de l'eau de leurs rivières au fil des saisons."),
    ("school", "Collège Jean Moulin"), ("city", "Valence"),
    ("countries", "Italie"), ("countries", "Espagne"), ("disciplines", "Physique-chimie"),
    ("levels", "collège"), ("languages", "anglais"), ("duration", "une année scolaire"),
    ("school_year", "2025-2026"), ("partners[0].school", "Liceo Galilei"),
    ("partners[0].city", "Trento"), ("partners[0].country", "Italie"), ("tags[0]", "eau"),
    ("website", "https://example.org/projet"),
    ("vt_body", "## Le projet\r\n\r\nNous avons **mesuré** le pH. Voir [le site](https://example.org)."),
    ("vt_name", "Camille Enseignante"), ("vt_email", "camille.enseignante@example.org"), ("vt_token", "abc.def"),
]
label = [("title", "Label"), ("kind", "Label de qualité national"), ("year", "2026"),
         ("project", "chaque-goutte-compte"), ("citation", "*Bravo*"), ("vt_name", "Luc"), ("vt_email", "luc@example.org")]
put("form", "url-project", "u" + urllib.parse.urlencode(project))
put("form", "url-project-alt", "u" + urllib.parse.urlencode(project + [("cover.alt", "Une rivière")]))
put("form", "url-label", "u" + urllib.parse.urlencode(label))
put("form", "url-escapes", "utitle=%C3%A9t%C3%A9+2027&vt_more=1&empty=&&noval&tags%5B0%5D=a%2Bb")
put("form", "url-bad", "utitle=%zz&x=%ff%fe")
B = "----vitrineFuzz7MA4"
def multipart(texts, files=()):
    out = b""
    for k, v in texts:
        out += f"--{B}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n".encode() + v.encode() + b"\r\n"
    for k, fn, data in files:
        out += f"--{B}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{fn}\"\r\nContent-Type: image/png\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{B}--\r\n".encode()
png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000000000500010d0a2db40000000049454e44ae426082")
put("form", "mp-project", f"m{B}\n".encode() + multipart(project, [("cover", "a.png", png)]))
put("form", "mp-label", f"m{B}\n".encode() + multipart(label))
put("form", "mp-files", f"m{B}\n".encode() + multipart([("title", "x")], [("cover", "a.png", png), ("cover", "", b""), ("gallery[0]", "../x", b"x")]))
put("form", "mp-utf8", f"m{B}\n".encode() + f"--{B}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n".encode() + b"\xff\xfe caf\xe9\r\n" + f"--{B}--\r\n".encode())

# api_json: submissions as the API receives them.
good = {"collection": "labels", "submitter": {"name": "Luc", "email": "luc@example.org"},
        "fields": {"title": "Label", "kind": "Label de qualité national", "year": 2026, "project": "chaque-goutte-compte"}}
put("api_json", "label", json.dumps(good, ensure_ascii=False))
proj = {"collection": "projects", "submitter": {"name": "Camille", "email": "c@example.org"},
        "body": "## Le projet\r\n\r\n[lien](https://example.org)",
        "fields": {"title": "Rivières", "summary": "Deux classes comparent la qualité de l'eau.", "school": "Collège",
                   "countries": ["Italie", "Espagne"], "disciplines": ["Physique-chimie"], "levels": ["collège"],
                   "languages": ["anglais"], "duration": "une année scolaire", "school_year": "2025-2026",
                   "partners": [{"school": "Liceo", "city": "Trento", "country": "Italie"}], "tags": ["eau"],
                   "website": "https://example.org", "cover": {"src": "x.png", "alt": "x"}}}
put("api_json", "project", json.dumps(proj, ensure_ascii=False))
put("api_json", "training-fields", json.dumps({"fields": {"title": "F", "summary": "s", "scope": "nationale", "mode": "en ligne",
    "audience": ["profs"], "organiser": "X", "registration_deadline": "2027-01-14", "places_limited": True,
    "sessions": [{"start": "2027-01-14 14:00", "end": "2027-01-14T16:00", "place": "Lyon"}]}}, ensure_ascii=False))
put("api_json", "wrong-types", '{"collection":"projects","submitter":"x","body":3,"fields":{"title":null,"countries":"Italie","partners":[1],"extra":{}},"more":true}')
put("api_json", "numbers", '{"collection":"labels","fields":{"year":2.5e308,"title":-0,"kind":["a"]},"submitter":{"name":"<b>","email":"a@b","x":1}}')
