import os
import sys
import yaml, json, random
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
S = Path(os.environ.get('REPO', '/work/main')) / 'interview' / 'scripts'
random.seed(int(sys.argv[1]))  # a new seed per set
key = {}
for out in sorted(Path(HERE / 'out').glob('*.yaml')):
    d = yaml.safe_load(out.read_text()); slug = d['script']
    sc = yaml.safe_load((S / f'{slug}.yaml').read_text())
    lines = [f"# Labelling packet: {sc['title']}", "", f"script: {slug}", "", "## Scenario", "", sc['scenario'].strip(), ""]
    by_prompt = {}
    for i, a in enumerate(d['answers']):
        by_prompt.setdefault(a['prompt'], []).append((i, a))
    for n, p in enumerate(sc['prompts'], 1):
        lines += [f"## Prompt {n}", "", p['text'].strip(), "", "### Rubric items", ""]
        for it in p['rubric']:
            lines += [f"- `{it['id']}`: {it['description'].strip()}"]
        lines += ["", "### Answers", ""]
        answers = by_prompt.get(n, [])
        random.shuffle(answers)
        for i, a in answers:
            aid = f"{slug[:3]}-{n}-{random.getrandbits(16):04x}"
            while aid in key: aid = f"{slug[:3]}-{n}-{random.getrandbits(16):04x}"
            key[aid] = {'script': slug, 'index': i, 'prompt': n}
            lines += [f"#### Answer {aid}", "", a['text'].strip(), ""]
    (HERE / 'packets' / f'{slug}.md').write_text("\n".join(lines))
json.dump(key, open(HERE / 'key.json', 'w'), indent=0)
print(len(key), 'answers in', len(list((HERE / 'packets').glob('*.md'))), 'packets')
