import os
import sys
import yaml, json
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
S = Path(os.environ.get('REPO', '/work/main')) / 'interview' / 'scripts'
key = json.load(open(HERE / 'key.json')); disputes = json.load(open(HERE / 'disputes.json'))
answers = {}
for out in (HERE / 'out').glob('*.yaml'):
    d = yaml.safe_load(out.read_text()); answers[d['script']] = d['answers']
lines = ["# Disputed judgements", ""]
for n, dsp in enumerate(disputes, 1):
    k = key[dsp['id']]; sc = yaml.safe_load((S / f"{k['script']}.yaml").read_text())
    p = sc['prompts'][k['prompt'] - 1]
    item = next(it for it in p['rubric'] if it['id'] == dsp['item'])
    lines += [f"## Dispute {n}: answer {dsp['id']}, item `{dsp['item']}`", "",
              f"Scenario: {sc['scenario'].strip()}", "", f"Prompt: {p['text'].strip()}", "",
              f"Item `{item['id']}`: {item['description'].strip()}", "", "Answer:", "",
              answers[k['script']][k['index']]['text'].strip(), ""]
(HERE / 'disputes.md').write_text("\n".join(lines)); print(len(disputes), 'disputes written')
