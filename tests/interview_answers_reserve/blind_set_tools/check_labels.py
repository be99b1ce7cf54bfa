import os
import sys, yaml, json
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
S = Path(os.environ.get('REPO', '/work/main')) / 'interview' / 'scripts'
key = json.load(open(HERE / 'key.json'))
bad = 0
for f in sorted(Path(sys.argv[1]).glob('*.yaml')):
    d = yaml.safe_load(f.read_text()); slug = d['script']
    sc = yaml.safe_load((S / f'{slug}.yaml').read_text())
    want = {k for k, v in key.items() if v['script'] == slug}
    got = d.get('labels') or {}
    if set(got) != want:
        print(f, 'missing', sorted(want - set(got)), 'unknown', sorted(set(got) - want)); bad += 1
    for aid, items in got.items():
        if aid not in key: continue
        ids = {it['id'] for it in sc['prompts'][key[aid]['prompt'] - 1]['rubric']}
        if not isinstance(items, list) or set(items) - ids:
            print(f, aid, 'items not of its prompt:', items); bad += 1
print('OK' if not bad else f'{bad} problems')
