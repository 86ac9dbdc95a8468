import pytest


@pytest.mark.notebooks
def test_notebook_00_measured_pipelines_and_trained(notebook_result):
    r = notebook_result("00_setup_tensors_devices")
    m = r["metrics"]
    assert m["source_pipeline_images_per_s"] > 0 and m["course_pipeline_images_per_s"] > 0
    assert m["pipeline_speedup"] == pytest.approx(
        m["course_pipeline_images_per_s"] / m["source_pipeline_images_per_s"], rel=1e-6
    )
    assert m["test_acc"] > 0.3  # ten classes: chance is 0.1
    assert 0 < m["peak_rss_mib"] < 4096
    claims = {c["claim"]: c for c in r["claims"]}
    assert any("GPU" in c for c in claims)
    assert any("5x faster" in c for c in claims)
