import os
import yaml, json, random, sys
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
S = Path(os.environ.get('REPO', '/work/main')) / 'interview' / 'scripts'
random.seed(int(sys.argv[1]))  # a new seed per set
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
    (HERE / 'briefs' / f'{slug}.md').write_text("\n".join(lines))
json.dump(lengths, open(HERE / 'lengths.json', 'w'), indent=1)
print({k: len(v) for k, v in lengths.items()})
