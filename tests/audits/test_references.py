"""Reference files: the shipped ones validate; bad ones give one exact line and exit 2."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from audits.references import load_reference, parse_reference, reference_for
from pipelines.errors import SpecError
from pipelines.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "datasets_spec"
PAIRS = [("compas", "compas_broward.yaml"), ("adult", "adult_us1994.yaml"),
         ("diabetes_130_us", "diabetes_us2000.yaml"), ("german_credit", "german_wgermany.yaml")]


@pytest.mark.parametrize(("spec_name", "ref_file"), PAIRS)
def test_shipped_references_validate_against_their_specs(spec_name: str, ref_file: str) -> None:
    spec = load_spec(SPECS / f"{spec_name}.yaml")
    ref = reference_for(spec, SPECS)
    assert ref is not None and ref.path.endswith(ref_file)
    for feat in ref.features.values():
        assert abs(sum(feat.shares.values()) - 1) <= ref.tolerance
        assert feat.source and feat.citation()
        declared = next(s.categories for s in spec.sensitive if s.column == feat.feature)
        assert sorted(set(feat.mapping) | set(feat.no_counterpart)) == sorted(declared)


def test_german_reference_is_labelled_a_proxy() -> None:
    ref = load_reference(SPECS / "references" / "german_wgermany.yaml")
    assert ref.status == "proxy"
    assert all("PROXY" in f.caveats[0] for f in ref.features.values())


@pytest.fixture
def doc() -> dict:
    return yaml.safe_load((SPECS / "references" / "compas_broward.yaml").read_text())


@pytest.fixture
def compas():  # noqa: ANN201 - DatasetSpec
    return load_spec(SPECS / "compas.yaml")


def _error(doc: dict, spec=None) -> str:  # noqa: ANN001
    with pytest.raises(SpecError) as info:
        parse_reference(doc, path="refs/x.yaml", spec=spec)
    assert info.value.exit_code == 2
    return info.value.line()


def test_shares_not_summing_to_one(doc: dict) -> None:
    doc["features"]["race"]["shares"]["Caucasian"] = 0.5
    assert _error(doc) == ("refs/x.yaml: features.race.shares: shares sum to 1.028840, not 1 "
                           "within tolerance 1e-05; fix: correct the shares (they are fractions "
                           "of the reference population)")


def test_mapping_to_a_category_the_reference_lacks(doc: dict) -> None:
    doc["features"]["sex"]["mapping"]["Female"] = "Women"
    assert _error(doc) == ("refs/x.yaml: features.sex.mapping.Female: mapping sends 'Female' to "
                           "'Women', which is not a reference category of 'sex'; fix: use one "
                           "of: Female, Male")


def test_mapping_from_a_category_the_dataset_lacks(doc: dict, compas) -> None:  # noqa: ANN001
    doc["features"]["race"]["mapping"]["Martian"] = "Other"
    assert _error(doc, compas) == (
        "refs/x.yaml: features.race.mapping.Martian: 'Martian' is not a category of the "
        "dataset's feature 'race'; fix: use one of the declared categories: African-American, "
        "Asian, Caucasian, Hispanic, Native American, Other")


def test_declared_category_neither_mapped_nor_listed(doc: dict, compas) -> None:  # noqa: ANN001
    del doc["features"]["race"]["mapping"]["Other"]
    assert _error(doc, compas) == (
        "refs/x.yaml: features.race.mapping: dataset category 'Other' is neither mapped nor "
        "listed under no_counterpart; fix: map 'Other' to a reference category or list it "
        "under no_counterpart")


def test_feature_the_spec_does_not_declare(doc: dict, compas) -> None:  # noqa: ANN001
    doc["features"]["income"] = copy.deepcopy(doc["features"]["sex"])
    doc["features"]["income"]["mapping"] = {"Female": "Female"}
    assert _error(doc, compas) == (
        "refs/x.yaml: features.income: 'income' is not a sensitive feature of spec 'compas'; "
        "fix: declare it under sensitive: or remove it (declared: race, sex, age_cat)")


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d.update(format="x"), "refs/x.yaml: format: format must be "
     "'fairledger.reference/1'; fix: add 'format: fairledger.reference/1'"),
    (lambda d: d["features"]["sex"]["shares"].update(Male=-0.1),
     "refs/x.yaml: features.sex.shares.Male: share -0.1 is not a number >= 0; fix: write the "
     "share as a decimal fraction, e.g. 0.2348"),
    (lambda d: d["features"]["sex"].update(source="nowhere"),
     "refs/x.yaml: features.sex.source: source 'nowhere' is not listed under sources; fix: use "
     "one of: primary, additional_1, additional_2"),
])
def test_other_bad_input(doc: dict, edit, expected: str) -> None:  # noqa: ANN001
    edit(doc)
    assert _error(doc) == expected


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_reference(tmp_path / "none.yaml")
    assert info.value.line() == (f"{tmp_path / 'none.yaml'}: reference file not found or not "
                                 "readable; fix: check reference.file in the spec (relative to "
                                 "the spec's folder)")
