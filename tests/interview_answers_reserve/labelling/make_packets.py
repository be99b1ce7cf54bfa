import yaml, json, random, hashlib
from pathlib import Path
S = Path('/work/main/interview/scripts')
random.seed(121019)
key = {}
for out in sorted(Path('/tmp/set12/out').glob('*.yaml')):
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
    Path(f'packets/{slug}.md').write_text("\n".join(lines))
json.dump(key, open('key.json', 'w'), indent=0)
print(len(key), 'answers in', len(list(Path('packets').glob('*.md'))), 'packets')
