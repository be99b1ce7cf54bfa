"""Join the two halves' merges and settlements into agreed.json, disputes.json and settled.yaml for place.py."""
import json, yaml
agreed, disputes, settled = {}, [], []
for h in ('H1', 'H2'):
    agreed.update(json.load(open(f'agreed_{h}.json')))
    ds = json.load(open(f'disputes_{h}.json'))
    st = {e['n']: e['credited'] for e in yaml.safe_load(open(f'settled_{h}.yaml'))['settled']} if ds else {}
    assert set(st) == set(range(1, len(ds) + 1)), h
    for n, d in enumerate(ds, 1):
        disputes.append(d); settled.append({'n': len(disputes), 'credited': st[n]})
json.dump(agreed, open('agreed.json', 'w'), indent=0)
json.dump(disputes, open('disputes.json', 'w'), indent=0)
yaml.safe_dump({'settled': settled}, open('settled.yaml', 'w'))
print(len(agreed), 'answers;', sum(len(v) for v in agreed.values()), 'agreed credits;', len(disputes), 'disputes,', sum(s['credited'] for s in settled), 'credited')
