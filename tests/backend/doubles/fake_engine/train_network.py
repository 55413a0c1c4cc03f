"""TEST DOUBLE: stand-in for sd-scripts' train_network.py; it only builds an argument parser."""

from library import train_util


def setup_parser():
    parser = train_util.base_parser()
    parser.add_argument("--network_dim", type=int, default=4)
    return parser


if __name__ == "__main__":
    setup_parser().parse_args()
