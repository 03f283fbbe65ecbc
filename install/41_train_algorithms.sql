-- since 0.2
-- train()'s description, with the algorithms 0.2 adds: ease (install/64_ease.sql)
-- and bayes (src/kernels/kern_bayes.c).
COMMENT ON FUNCTION movierec.train(text, text, jsonb, regclass, name, name, name) IS
    'Train a model (popularity, baseline, als, svd, ials, ease, bayes) on a rating table or view; returns its model_id. A name trained again gets its next version.';
