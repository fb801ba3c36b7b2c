// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MockStablecoin
/// @notice USD stand-in FOR LOCAL DEVELOPMENT CHAINS ONLY: `mint` is open to anyone. Never
///         deploy to a public network. Decimals are a constructor argument (6 like USDC,
///         18 like DAI) so the distribution accounting can be tested with both. EIP-2612
///         `permit` (OpenZeppelin `ERC20Permit`, domain name "Mock USD", version "1"), like
///         USDC: the platform can move a custodial wallet's stablecoin with the wallet's
///         signature while the agent pays the gas.
contract MockStablecoin is ERC20, ERC20Permit {
    uint8 private immutable _decimals;

    constructor(uint8 decimals_) ERC20("Mock USD", "mUSD") ERC20Permit("Mock USD") {
        _decimals = decimals_;
    }

    /// @notice The decimals chosen at deployment.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mints `amount` to `to`. Open to anyone - local chains only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
