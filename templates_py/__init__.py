"""Stream Lines infrastructure: CloudFormation templates rendered with troposphere and awacs."""
