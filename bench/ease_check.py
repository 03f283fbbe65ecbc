#!/usr/bin/python3
"""bench/ease_check.py: EASE and popularity NDCG@10 computed in numpy,
independently of movierec, under the protocol of movierec.evaluate().

  bench/ease_check.py DATASET SPLIT [LAMBDA,BINARIZE ...]
    DATASET  ml100k | mlsmall
    SPLIT    hash       the issue's hash split (test iff
                        ((u*100003 + i)*48271) % 2147483647 % 5 = 0)
             inner      the hash training part split again with
                        ((u*100003 + i)*16807) % 2147483647 % 4 = 0
                        (doc/algorithms.md, "ease")
             md5inner   the hash training part split again with
                        md5('u:i') % 4 = 0 (a split not periodic in the
                        movie id)
             u1 .. u5   ml-100k's official folds
    LAMBDA,BINARIZE     EASE's regularization and binarize (default
                        30000,4: movierec's defaults); min_item_ratings 10
  bench/ease_check.py DATASET residues
    how many users' hash-test movies all share one residue of movie_id mod 5

Protocol (src/evaluate.c): x_u = the user's training ratings (>= binarize
when binarize > 0); B = I - P diag(1/diag P), P = (X'X + lambda I)^-1
over the movies with >= 10 training ratings; candidates = every movie seen
in training that the user did not rate in training (movies outside B score
-inf; a user with no training rating of a movie in B is ranked by
popularity); users with a test rating >= 4; relevant = test rating >= 4;
NDCG@10 with the ideal DCG of min(#relevant, 10) hits; ties to the smaller
movie id.  Popularity ranks by training rating count.  Double precision
(movierec: float), so the last digit can differ in principle.
Needs Debian's python3-numpy (scripts/deps.sh).  MOVIELENS_DIR as for
every bench script.
"""
import hashlib
import os
import sys

import numpy as np

MLDIR = os.environ.get('MOVIELENS_DIR', os.path.join(os.path.dirname(__file__), '../../shared/datasets/movielens'))


def load(ds):
    """(users, movies, ratings) of a dataset."""
    if ds == 'ml100k':
        a = np.loadtxt(os.path.join(MLDIR, 'ml-100k/u.data'), dtype=np.int64)
        return a[:, 0], a[:, 1], a[:, 2].astype(float)
    a = np.loadtxt(os.path.join(MLDIR, 'ml-latest-small/ratings.csv'), delimiter=',', skiprows=1)
    return a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2]


def lcg_test(u, i, mult, mod):
    """The hash rule ((u*100003 + i)*mult) % 2147483647 % mod = 0."""
    return ((u * 100003 + i) * mult) % 2147483647 % mod == 0


def md5_test(u, i):
    """md5('u:i') % 4 = 0, on the first 32 bits."""
    return np.array([int(hashlib.md5(f'{a}:{b}'.encode()).hexdigest()[:8], 16) % 4 == 0
                     for a, b in zip(u, i)])


def ndcg10(tr, te, score_fn, k=10, relmin=4):
    """Mean NDCG@k over the users with a relevant test rating."""
    trU, trI, trR = tr
    items = np.unique(trI)
    users = np.unique(trU)
    ipos = {m: j for j, m in enumerate(items)}
    upos = {x: j for j, x in enumerate(users)}
    rel = {}
    for u, i, r in zip(*te):
        if r >= relmin:
            rel.setdefault(u, set()).add(i)
    S = score_fn(tr, items, users, ipos, upos)
    rated = {}
    for u, i in zip(trU, trI):
        rated.setdefault(u, []).append(ipos[i])
    total = 0.0
    for u, R in rel.items():
        s = S[upos[u]].copy() if u in upos else np.zeros(len(items))
        s[rated.get(u, [])] = -np.inf
        top = np.argsort(-s, kind='stable')[:k]
        dcg = sum(1 / np.log2(r + 2) for r, j in enumerate(top) if items[j] in R)
        idcg = sum(1 / np.log2(r + 2) for r in range(min(len(R), k)))
        total += dcg / idcg
    return total / len(rel)


def ease(lam, binarize, min_ratings=10):
    """Score function of EASE."""
    def f(tr, items, users, ipos, upos):
        X = np.zeros((len(users), len(items)))
        cnt = np.zeros(len(items))
        for u, i, r in zip(*tr):
            cnt[ipos[i]] += 1
            if binarize <= 0 or r >= binarize:
                X[upos[u], ipos[i]] = 1
        keep = cnt >= min_ratings
        Xk = X[:, keep]
        P = np.linalg.inv(Xk.T @ Xk + lam * np.eye(Xk.shape[1]))
        B = -P / np.diag(P)
        np.fill_diagonal(B, 0)
        S = np.full((len(users), len(items)), -np.inf)
        S[:, keep] = Xk @ B
        # a user with no training rating in B: popularity by training count
        S[Xk.sum(axis=1) == 0] = cnt
        return S
    return f


def popularity(tr, items, users, ipos, upos):
    """Score function of popularity by training count."""
    c = np.zeros(len(items))
    for i in tr[1]:
        c[ipos[i]] += 1
    return np.tile(c, (len(users), 1))


def main():
    ds, split = sys.argv[1], sys.argv[2]
    u, i, r = load(ds)
    if split == 'residues':
        t = lcg_test(u, i, 48271, 5)
        res = {}
        for a, b in zip(u[t], i[t]):
            res.setdefault(a, set()).add(b % 5)
        print(f'{ds}: {sum(len(s) == 1 for s in res.values())} of {len(res)} users have every '
              'hash-test movie in one residue class of movie_id mod 5')
        return
    if split.startswith('u'):
        a = np.loadtxt(os.path.join(MLDIR, f'ml-100k/{split}.base'), dtype=np.int64)
        b = np.loadtxt(os.path.join(MLDIR, f'ml-100k/{split}.test'), dtype=np.int64)
        tr = (a[:, 0], a[:, 1], a[:, 2].astype(float))
        te = (b[:, 0], b[:, 1], b[:, 2].astype(float))
    else:
        t = lcg_test(u, i, 48271, 5)
        tr, te = (u[~t], i[~t], r[~t]), (u[t], i[t], r[t])
        if split in ('inner', 'md5inner'):
            t2 = lcg_test(tr[0], tr[1], 16807, 4) if split == 'inner' else md5_test(tr[0], tr[1])
            tr, te = tuple(x[~t2] for x in tr), tuple(x[t2] for x in tr)
    print(f'{ds} {split} popularity NDCG@10 {ndcg10(tr, te, popularity):.4f}', flush=True)
    for spec in sys.argv[3:] or ['30000,4']:
        lam, binarize = (float(x) for x in spec.split(','))
        print(f'{ds} {split} ease lambda {lam:g} binarize {binarize:g} NDCG@10 '
              f'{ndcg10(tr, te, ease(lam, binarize)):.4f}', flush=True)


if __name__ == '__main__':
    main()
