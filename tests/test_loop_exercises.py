"""Notebook 04's training-loop exercises judge code by what it does: the reference passes, other correct
versions pass, and each mistake of the catalogue is rejected with its own hint."""
import pytest
import torch
from torch.nn import functional as F

from klif_edu.exercises import check
from klif_edu.exercises import loop_solutions as ref

T = 2


def encode(x, steps):
    return x.expand(steps, *x.shape)


# --- 04.loss -------------------------------------------------------------------------------------
LOSS_RIGHT = {
    "the worked answer": ref.mse_on_rates,
    "F.mse_loss": lambda r, y: F.mse_loss(r, F.one_hot(y, 10).float()),
    "by hand, 0-d": lambda r, y: ((r - torch.eye(10)[y]) ** 2).sum() / r.numel(),
}
LOSS_WRONG = {
    "sum of squares": (lambda r, y: ((r - F.one_hot(y, 10).float()) ** 2).sum(), "sum of the squared errors"),
    "sum over classes": (lambda r, y: ((r - F.one_hot(y, 10).float()) ** 2).sum(1).mean(), "sums over the 10"),
    "root": (lambda r, y: F.mse_loss(r, F.one_hot(y, 10).float()).sqrt(), "square root"),
    "absolute": (lambda r, y: F.l1_loss(r, F.one_hot(y, 10).float()), "absolute differences"),
    "label, not one-hot": (lambda r, y: ((r - y[:, None].float()) ** 2).mean(), "label number y itself"),
    "one_hot without classes": (lambda r, y: F.mse_loss(r, F.one_hot(y).float()), "F.one_hot(y, 10)"),
    "inverted one-hot": (lambda r, y: F.mse_loss(r, 1 - F.one_hot(y, 10).float()), "0 for the true class"),
    "softmax first": (lambda r, y: F.mse_loss(r.softmax(1), F.one_hot(y, 10).float()), "softmax"),
    "cross-entropy": (lambda r, y: F.cross_entropy(r, y), "cross-entropy"),
    ".item()": (lambda r, y: F.mse_loss(r, F.one_hot(y, 10).float()).item(), "no .item()"),
    "no reduction": (lambda r, y: F.mse_loss(r, F.one_hot(y, 10).float(), reduction="none"), "reduce them"),
    "detached": (lambda r, y: F.mse_loss(r.detach(), F.one_hot(y, 10).float()), "No gradient flows back"),
    "returns nothing": (lambda r, y: None, "returns None"),
}


@pytest.mark.parametrize("name", list(LOSS_RIGHT))
def test_a_right_loss_passes(name):
    assert check("04.loss", LOSS_RIGHT[name], strict=True)


@pytest.mark.filterwarnings("ignore:Using a target size")  # F.one_hot(y) without 10: PyTorch warns, then fails
@pytest.mark.parametrize("name", list(LOSS_WRONG))
def test_a_wrong_loss_gets_its_hint(name, capsys):
    fn, words = LOSS_WRONG[name]
    assert check("04.loss", fn) is False
    out = capsys.readouterr().out
    assert words in out, out


# --- 04.step -------------------------------------------------------------------------------------
def step_manual_zero(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq), y)
    for p in net.parameters():
        p.grad = None
    loss.backward()
    optimiser.step()
    return loss


def step_no_zero_grad(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq), y)
    loss.backward()
    optimiser.step()
    return loss.item()


def step_no_step(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq), y)
    optimiser.zero_grad()
    loss.backward()
    return loss.item()


def step_no_backward(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq), y)
    optimiser.zero_grad()
    optimiser.step()
    return loss.item()


def step_before_backward(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq), y)
    optimiser.zero_grad()
    optimiser.step()
    loss.backward()
    return loss.item()


def step_zero_after_backward(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq), y)
    loss.backward()
    optimiser.zero_grad()
    optimiser.step()
    return loss.item()


def step_twice(net, optimiser, x_seq, y):
    for _ in range(2):
        loss = ref.mse_on_rates(net(x_seq), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return loss.item()


def step_eval_mode(net, optimiser, x_seq, y):
    net.eval()
    return ref.train_step(net, optimiser, x_seq, y)


def step_cross_entropy(net, optimiser, x_seq, y):
    loss = F.cross_entropy(net(x_seq), y)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss.item()


def step_detached(net, optimiser, x_seq, y):
    loss = ref.mse_on_rates(net(x_seq).detach(), y)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss.item()


def step_no_return(net, optimiser, x_seq, y):
    ref.train_step(net, optimiser, x_seq, y)


def step_returns_rates(net, optimiser, x_seq, y):
    rates = net(x_seq)
    loss = ref.mse_on_rates(rates, y)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return rates


STEP_RIGHT = {"the worked answer": ref.train_step, "zeroed by hand, returns the tensor": step_manual_zero}
STEP_WRONG = {
    "forgot zero_grad": (step_no_zero_grad, "never calls optimiser.zero_grad()"),
    "forgot step": (step_no_step, "never calls optimiser.step()"),
    "forgot backward": (step_no_backward, "never calls loss.backward()"),
    "step before backward": (step_before_backward, "before loss.backward()"),
    "zero_grad after backward": (step_zero_after_backward, "between backward() and step()"),
    "two steps": (step_twice, "more than once"),
    "eval mode": (step_eval_mode, "eval mode"),
    "cross-entropy": (step_cross_entropy, "Its update differs"),
    "loss on detached rates": (step_detached, "found no graph"),
    "returns nothing": (step_no_return, "returns None"),
    "returns the rates": (step_returns_rates, "return the batch's loss"),
}


@pytest.mark.parametrize("name", list(STEP_RIGHT))
def test_a_right_step_passes(name):
    assert check("04.step", STEP_RIGHT[name], strict=True)


@pytest.mark.parametrize("name", list(STEP_WRONG))
def test_a_wrong_step_gets_its_hint(name, capsys):
    fn, words = STEP_WRONG[name]
    assert check("04.step", fn) is False
    out = capsys.readouterr().out
    assert words in out, out


# --- 04.epoch ------------------------------------------------------------------------------------
def epoch_plain(net, optimiser, train_loader, test_loader, T):
    net.train()
    losses = [ref.train_step(net, optimiser, encode(x, T), y) for x, y in train_loader]
    net.eval()
    right, n = 0, 0
    with torch.inference_mode():
        for x, y in test_loader:
            right += int((net(encode(x, T)).argmax(1) == y).sum())
            n += len(y)
    return losses, right / n * 100


def _epoch(train=True, evaluate=True, no_grad=True, test_on=None, percent=True, per_batch=False, steps=1,
           losses_ok=True):
    def run_epoch(net, optimiser, train_loader, test_loader, T):
        if train:
            net.train()
        losses = []
        for x, y in train_loader:
            for _ in range(steps):
                losses.append(ref.train_step(net, optimiser, encode(x, T), y))
        if evaluate:
            net.eval()
        loader = test_loader if test_on is None else train_loader
        accs, right, n = [], 0, 0
        with torch.no_grad() if no_grad else torch.enable_grad():
            for x, y in loader:
                hit = (net(encode(x, T)).argmax(1) == y)
                accs.append(hit.float().mean().item())
                right, n = right + int(hit.sum()), n + len(y)
        acc = sum(accs) / len(accs) if per_batch else right / n
        return (losses if losses_ok else losses[-1:]), (100 * acc if percent else acc)
    return run_epoch


def epoch_no_test(net, optimiser, train_loader, test_loader, T):
    net.train()
    return [ref.train_step(net, optimiser, encode(x, T), y) for x, y in train_loader], 0.0


EPOCH_RIGHT = {"the worked answer": ref.run_epoch, "inference_mode, a comprehension": epoch_plain, "built": _epoch()}
EPOCH_WRONG = {
    "no net.train()": (_epoch(train=False), "trains in eval mode"),
    "no net.eval()": (_epoch(evaluate=False), "tests in training mode"),
    "no torch.no_grad()": (_epoch(no_grad=False), "torch.no_grad()"),
    "no test pass": (epoch_no_test, "no test pass"),
    "tests on the training set": (_epoch(test_on="train"), "tests on the training images"),
    "a fraction, not %": (_epoch(percent=False), "give the accuracy in %"),
    "mean of batch accuracies": (_epoch(per_batch=True), "last batch is smaller"),
    "two steps per batch": (_epoch(steps=2), "one step per batch"),
    "keeps only the last loss": (_epoch(losses_ok=False), "losses for 3 training batches"),
    "returns only the accuracy": (lambda *a: ref.run_epoch(*a)[1], "Return two things"),
}


@pytest.mark.parametrize("name", list(EPOCH_RIGHT))
def test_a_right_epoch_passes(name):
    assert check("04.epoch", EPOCH_RIGHT[name], strict=True)


@pytest.mark.parametrize("name", list(EPOCH_WRONG))
def test_a_wrong_epoch_gets_its_hint(name, capsys):
    fn, words = EPOCH_WRONG[name]
    assert check("04.epoch", fn) is False
    out = capsys.readouterr().out
    assert words in out, out
