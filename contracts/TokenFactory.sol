// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {AgentRoles} from "./AgentRoles.sol";
import {SecurityToken} from "./SecurityToken.sol";

/// @title TokenFactory
/// @notice Deploys one `SecurityToken` per device as an EIP-1167 clone, created with
///         CREATE2 using the device id as salt, and initialises it in the same
///         transaction. The address is predictable (`predictTokenAddress`) and a device
///         can only be tokenised once, so a retried deployment is harmless: it reverts
///         with `TokenAlreadyDeployed` and `tokenForDevice` returns the existing token.
contract TokenFactory is AgentRoles {
    /// @notice The SecurityToken implementation every clone delegates to.
    address public immutable implementation;

    mapping(bytes32 deviceId => address token) private _tokens;

    /// @notice A device token was deployed and initialised (`totalUnits` and `termsHash`
    ///         are the economic terms the token pinned).
    event TokenDeployed(
        bytes32 indexed deviceId,
        address indexed token,
        address indexed owner,
        address agent,
        address identityRegistry,
        address stablecoin,
        string name,
        string symbol,
        uint256 totalUnits,
        bytes32 termsHash
    );

    /// @notice A token already exists for `deviceId`.
    error TokenAlreadyDeployed(bytes32 deviceId, address token);
    /// @notice `deviceId` must not be zero.
    error InvalidDeviceId();

    /// @param initialOwner owner of the factory (manages agents allowed to deploy)
    /// @param implementation_ a deployed `SecurityToken` (constructor-locked)
    constructor(address initialOwner, address implementation_) {
        if (implementation_ == address(0)) revert ZeroAddress();
        implementation = implementation_;
        _initOwner(initialOwner);
    }

    /// @notice Deploys and initialises the token of `deviceId` (agent or owner).
    /// @param deviceId platform device identifier (CREATE2 salt)
    /// @param p name, symbol, owner, agent, identity registry, stablecoin, compliance
    ///        parameters, total units and terms hash (see `SecurityToken.TokenParams`)
    /// @return token the new token's address (equals `predictTokenAddress(deviceId)`)
    function deployToken(bytes32 deviceId, SecurityToken.TokenParams calldata p)
        external
        onlyOwnerOrAgent
        returns (address token)
    {
        if (deviceId == bytes32(0)) revert InvalidDeviceId();
        address existing = _tokens[deviceId];
        if (existing != address(0)) revert TokenAlreadyDeployed(deviceId, existing);
        token = Clones.cloneDeterministic(implementation, deviceId);
        _tokens[deviceId] = token;
        SecurityToken(token).initialize(p, deviceId);
        emit TokenDeployed(
            deviceId,
            token,
            p.owner,
            p.agent,
            p.identityRegistry,
            p.stablecoin,
            p.name,
            p.symbol,
            p.totalUnits,
            p.termsHash
        );
    }

    /// @notice The token deployed for `deviceId` (zero if none).
    function tokenForDevice(bytes32 deviceId) external view returns (address) {
        return _tokens[deviceId];
    }

    /// @notice The address `deployToken(deviceId, ...)` deploys to.
    function predictTokenAddress(bytes32 deviceId) external view returns (address) {
        return Clones.predictDeterministicAddress(implementation, deviceId, address(this));
    }
}
