"""check("04.network", ...) judges a network by what it does: every mistake in the catalogue is rejected
with its own hint, every correct network in several styles is accepted."""
import pytest
import torch

from klif_edu.exercises import check
from klif_edu.exercises.network_judge import judge_network
from klif_edu.exercises.network_series import SolutionNet

from network_catalogue import CORRECT, WRONG


@pytest.mark.parametrize("name", list(CORRECT))
def test_a_correct_network_passes(name):
    torch.manual_seed(0)
    assert judge_network(CORRECT[name]) is None


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_network_gets_its_own_hint(name, capsys):
    torch.manual_seed(0)
    net, words = WRONG[name]
    assert check("04.network", net) is False
    out = capsys.readouterr().out
    assert words in out, out


def test_hints_are_distinct_sentences():
    hints = {words for _, words in WRONG.values()}
    assert len(hints) >= 20  # the catalogue names its mistakes, not one generic message


def test_an_instance_passes_and_is_left_as_it_was():
    net = SolutionNet(channels=8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    thresholds = [m.v_threshold for m in (net.sn1, net.sn2, net.sn3)]
    assert judge_network(net) is None
    assert net.training and all(p.grad is None for p in net.parameters())
    assert [m.v_threshold for m in (net.sn1, net.sn2, net.sn3)] == thresholds
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_not_a_network():
    assert "not a int" in judge_network(3)
    assert "not an nn.Module" in judge_network(lambda: 3)
