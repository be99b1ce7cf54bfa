"""Evaluate the grader in REPO (env, default /work/main) on answer sets.
usage: ev.py [summary|fp|fn|rank|source] [SETS...]   sets: tuning s1..sN (a number with no spent set is the held-out dir)
"""
import os, sys
from pathlib import Path
REPO = Path(os.environ.get('REPO', '/work/main'))
sys.path.insert(0, str(REPO))
# Celery's app puts the working directory first on sys.path: run from REPO, or another checkout's code is measured.
os.chdir(REPO)
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')
os.environ.setdefault('SECRET_KEY', 'test-only-secret-key-not-for-any-deployment-0123456789')
import django; django.setup()
from interview import scoring_quality as q
A = REPO / 'tests' / 'interview_answers'
def setdir(name):
    if name == 'tuning': return A
    n = int(name[1:])
    if n == 1: return A / 'spent_heldout'
    d = A / f'spent_heldout_{n}'
    if d.exists(): return d
    # The newest set, while it is the held-out one (measured once, then spent and moved).
    if any((REPO / 'tests/interview_answers_heldout').glob('*.yaml')): return REPO / 'tests/interview_answers_heldout'
    raise SystemExit(f'no set {name}')
mode = sys.argv[1] if len(sys.argv) > 1 else 'summary'
sets = sys.argv[2:] or ['tuning', 's1'] + [f's{i}' for i in range(2, 99) if (A / f'spent_heldout_{i}').exists()]
only = os.environ.get('SCRIPT')
for s in sets:
    r = q.evaluate(setdir(s))
    rows = [x for x in r['rows'] if not only or x['answer'].script == only]
    if mode == 'summary':
        st = r['styles']
        print(f"{s:7} P {r['precision']:.3f} R {r['recall']:.3f} pw {r['plain_words_recall'] or 0:.3f} tp {r['tp']} fp {r['fp']} fn {r['fn']} "
              f"rank {sum(x['ok'] for x in r['ranking'])}/{len(r['ranking'])} salad {sum(x['ok'] for x in r['salad'])}/{len(r['salad'])} "
              f"partialFP {st.get('partial',{}).get('fp')}")
    if mode == 'summary' and only:
        tp = sum(len(x['predicted'] & set(x['answer'].covers)) for x in rows)
        fp = sum(len(x['predicted'] - set(x['answer'].covers)) for x in rows)
        fn = sum(len(set(x['answer'].covers) - x['predicted']) for x in rows)
        pfp = sum(len(x['predicted'] - set(x['answer'].covers)) for x in rows if x['answer'].label == 'partial')
        rk = [x for x in r['ranking'] if x['script'] == only]
        print(f"        {only}: tp {tp} fp {fp} fn {fn} partialFP {pfp} rank {sum(x['ok'] for x in rk)}/{len(rk)}")
    for row in rows:
        a = row['answer']; gold = set(a.covers); pred = row['predicted']
        items = {i.id: i for i in row['result'].items}
        if mode in ('fp', 'source'):
            for i in sorted(pred - gold):
                it = items[i]
                print(f"[{s}] FP {a.script} p{a.prompt} {a.group} {i} via={it.pattern!r}\n    > {it.sentence.strip()[:300]}")
        if mode == 'fn':
            for i in sorted(gold - pred):
                it = items[i]
                print(f"[{s}] FN {a.script} p{a.prompt} {a.group} {i} status={it.status}\n    text: {a.text.strip()[:400]}")
    if mode == 'rank':
        for x in r['ranking']:
            if not x['ok'] and (not only or x['script'] == only):
                print(f"[{s}] rank {x['script']} p{x['prompt']} {x['means']}")
