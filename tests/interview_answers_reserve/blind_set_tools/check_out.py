import os
import sys, yaml, json
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
L = json.load(open(HERE / 'lengths.json'))
B = {'partial': (60, 200), 'weak': (40, 150), 'keyword-salad': (25, 100)}
STRONG = {'short': (60, 90), 'medium': (120, 220), 'long': (250, 400)}
bad = 0
for f in sys.argv[1:]:
    d = yaml.safe_load(open(f))
    slug = d['script']
    n = len(L[slug])
    seen = {}
    for a in d['answers']:
        p = a['prompt']; kind = a['label'] + ('/' + a['style'] if a.get('style') else '')
        seen.setdefault(p, []).append(kind)
        w = len(a['text'].split())
        if a['label'] == 'strong' and not a.get('style'):
            if a.get('length') != L[slug][str(p)]:
                print(f, p, 'strong length should be', L[slug][str(p)]); bad += 1
            lo, hi = STRONG[L[slug][str(p)]]
        elif a.get('style') == 'plain-words':
            lo, hi = 90, 300
        else:
            lo, hi = B[a['label']]
        if not (lo * 0.85 <= w <= hi * 1.15):
            print(f, p, kind, 'has', w, 'words; want', lo, '-', hi); bad += 1
    want = sorted(['strong', 'strong/plain-words', 'partial', 'weak', 'keyword-salad'])
    for p in range(1, n + 1):
        if sorted(seen.get(p, [])) != want:
            print(f, 'prompt', p, 'has', seen.get(p)); bad += 1
print('OK' if not bad else f'{bad} problems')
