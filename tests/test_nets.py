"""The inference forms of the networks compute the same functions as the trained ones."""
import pytest
import torch

from rdccodec.entropy_coding import scale_indexes
from rdccodec.nets.blocks import GainedHyperprior, SubpixelConv, deconv


@pytest.mark.parametrize("c_in,c_out,height,width", [(7, 5, 9, 11), (16, 3, 1, 1), (4, 32, 6, 3)])
def test_subpixel_form_equals_the_transposed_convolution(c_in, c_out, height, width):
    torch.manual_seed(0)
    transposed = deconv(c_in, c_out).double()
    x = torch.randn(2, c_in, height, width, dtype=torch.float64)
    expected = transposed(x)
    got = SubpixelConv(transposed)(x)
    assert got.shape == expected.shape == (2, c_out, 2 * height, 2 * width)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)


def test_subpixel_form_refuses_other_geometries():
    with pytest.raises(ValueError):
        SubpixelConv(torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1))


def test_scale_indexes_equal_compressai_build_indexes():
    hyperprior = GainedHyperprior(8, 4, levels=2).double()
    conditional = hyperprior.gaussian_conditional
    conditional.update_scale_table(conditional.scale_table, force=True)
    table = conditional.scale_table.double()
    edges = torch.cat([table, table.nextafter(torch.zeros(1, dtype=torch.float64)),
                       table.nextafter(torch.full((1,), 1e9, dtype=torch.float64))])
    scales = torch.cat([torch.rand(4000, dtype=torch.float64) * 300, edges, torch.zeros(2, dtype=torch.float64)])
    scales = scales.reshape(1, 1, 1, -1).expand(1, 2, 3, -1)[:, :, 1:]  # non-contiguous, as bands are
    assert torch.equal(scale_indexes(conditional, scales), conditional.build_indexes(scales))
