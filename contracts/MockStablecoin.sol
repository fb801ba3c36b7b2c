// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockStablecoin
/// @notice 6-decimal USD stand-in FOR LOCAL DEVELOPMENT CHAINS ONLY: `mint` is open to
///         anyone. Never deploy to a public network.
contract MockStablecoin is ERC20 {
    constructor() ERC20("Mock USD", "mUSD") {}

    /// @notice 6 decimals, like USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`. Open to anyone - local chains only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
