import os
import yaml, json, sys
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
S = Path(os.environ.get('REPO', '/work/main')) / 'interview' / 'scripts'
outdir = Path(sys.argv[1]); outdir.mkdir(parents=True, exist_ok=True)
key = json.load(open(HERE / 'key.json')); agreed = json.load(open(HERE / 'agreed.json'))
disputes = json.load(open(HERE / 'disputes.json'))
settled = {e['n']: e['credited'] for e in yaml.safe_load(open(HERE / 'settled.yaml'))['settled']}
assert set(settled) == set(range(1, len(disputes) + 1)), 'settled does not cover every dispute'
covers = {(k['script'], k['index']): set(agreed[aid]) for aid, k in key.items()}
for n, d in enumerate(disputes, 1):
    if settled[n]:
        k = key[d['id']]; covers[(k['script'], k['index'])].add(d['item'])
total = 0
for out in sorted(Path(HERE / 'out').glob('*.yaml')):
    d = yaml.safe_load(out.read_text()); slug = d['script']
    lines = [f"script: {slug}", "answers:"]
    for i, a in enumerate(d['answers']):
        c = sorted(covers[(slug, i)]); total += len(c)
        lines += [f"- prompt: {a['prompt']}", f"  label: {a['label']}"]
        if a.get('length'): lines.append(f"  length: {a['length']}")
        if a.get('style'): lines.append(f"  style: {a['style']}")
        lines += ["  covers: []"] if not c else ["  covers:"] + [f"  - {x}" for x in c]
        lines.append("  text: |")
        lines += [("    " + l).rstrip() for l in a['text'].rstrip("\n").split("\n")]
    (outdir / f"{slug}.yaml").write_text("\n".join(lines) + "\n")
print('placed', total, 'credits in', outdir)
