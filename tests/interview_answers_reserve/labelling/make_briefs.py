import yaml, json, random, sys
from pathlib import Path
S = Path('/work/main/interview/scripts')
random.seed(12012)
lengths = {}
order = ['short', 'medium', 'long']
for path in sorted(S.glob('*.yaml')):
    d = yaml.safe_load(path.read_text())
    slug = d['slug']
    lines = [f"# {d['title']}", "", f"script: {slug}", "", "## Scenario", "", d['scenario'].strip(), "", "## Prompts", ""]
    off = random.randrange(3)
    for i, p in enumerate(d['prompts'], 1):
        lines += [f"{i}. {p['text'].strip()}", ""]
        lengths.setdefault(slug, {})[str(i)] = order[(i + off) % 3]
    Path(f'briefs/{slug}.md').write_text("\n".join(lines))
json.dump(lengths, open('lengths.json', 'w'), indent=1)
print({k: len(v) for k, v in lengths.items()})
