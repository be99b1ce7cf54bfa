import os, sys
sys.argv = sys.argv
exec(open('/tmp/tune/ev.py').read().split("mode = sys.argv")[0])
from interview.scoring import gather_evidence
from collections import Counter
for s in sys.argv[1:]:
    c = Counter()
    for a, rubric in q.labelled_answers(setdir(s)):
        ev = gather_evidence(a.text, rubric)
        from interview.scoring import score_answer
        res = score_answer(a.text, rubric)
        pred = {i.id for i in res.items if i.matched}
        for f in ev.items:
            iid = f.item['id']
            gold = iid in a.covers
            src = 'rule' if f.rule_met else ('model' if iid in pred else ('listed' if f.live else ('near' if f.near else 'none')))
            c[(src, 'TP' if gold and iid in pred else 'FP' if iid in pred else 'FN' if gold else 'TN', a.group)] += 1
    print(s)
    for src in ('rule', 'model'):
        for k in ('TP', 'FP'):
            print(f"  {src} {k}", sum(v for (a_, b, g), v in c.items() if a_ == src and b == k),
                  {g: v for (a_, b, g), v in c.items() if a_ == src and b == k})
    print('  FN by state', {a_: sum(v for (x, b, g), v in c.items() if x == a_ and b == 'FN') for a_ in ('listed', 'near', 'none')})
